//! The matching rules, a scenario per rule and per merchant profile row of
//! matching-harmonia-source.md §3: given a merchant's pending transactions, when a payment
//! arrives, then it matches one of them or names why not.

use clio_matching::profile::{Fallback, Profiles};
use clio_matching::rules::{NoMatch, find_match};
use clio_matching::transaction::{CardOnFile, CardScheme, DAY_MICROS, Payment, SchemeTransaction};
use proptest::prelude::*;

use CardScheme::{Amex, Mastercard, Visa};

/// 2026-06-01 12:00:00 UTC.
const NOON: i64 = 1_780_315_200_000_000;
const SECOND: i64 = 1_000_000;

fn payment(scheme: CardScheme) -> Payment {
    Payment {
        transaction_id: "tx-1".into(),
        settlement_key: "sk-1".into(),
        card_scheme: scheme,
        mid: "mid-1".into(),
        amount: 1_250,
        at: NOON,
        auth_code: String::new(),
        first_six: String::new(),
        last_four: String::new(),
    }
}

fn row(id: &str, scheme: CardScheme, seconds_after: i64) -> SchemeTransaction {
    SchemeTransaction {
        transaction_id: id.into(),
        card_scheme: scheme,
        mids: vec!["mid-0".into(), "mid-1".into()],
        amount: 1_250,
        at: NOON + seconds_after * SECOND,
        auth_code: String::new(),
        first_six: String::new(),
        last_four: String::new(),
    }
}

fn coded(mut row: SchemeTransaction, code: &str) -> SchemeTransaction {
    row.auth_code = code.into();
    row
}

fn card(mut row: SchemeTransaction, first_six: &str, last_four: &str) -> SchemeTransaction {
    row.first_six = first_six.into();
    row.last_four = last_four.into();
    row
}

fn with_code(mut payment: Payment, code: &str) -> Payment {
    payment.auth_code = code.into();
    payment
}

fn with_digits(mut payment: Payment, first_six: &str, last_four: &str) -> Payment {
    payment.first_six = first_six.into();
    payment.last_four = last_four.into();
    payment
}

/// What a payment at `merchant` matches among `pending`: the matched transaction's id.
fn matched(
    merchant: &str,
    payment: &Payment,
    card: &CardOnFile,
    pending: &[SchemeTransaction],
) -> Result<String, NoMatch> {
    let profile = Profiles::builtin().get(merchant).expect("a profile");
    find_match(profile, payment, card, pending).map(|s| s.transaction_id.clone())
}

fn no_card() -> CardOnFile {
    CardOnFile::default()
}

fn on_file(first_six: &str, last_four: &str) -> CardOnFile {
    CardOnFile { first_six: first_six.into(), last_four: last_four.into() }
}

#[test]
fn a_candidate_has_the_payments_scheme_one_of_its_mids_and_exactly_its_amount() {
    let p = payment(Visa);
    let mut other_mid = row("other-mid", Visa, 0);
    other_mid.mids = vec!["mid-2".into()];
    let mut other_amount = row("other-amount", Visa, 0);
    other_amount.amount = 1_251;
    let pending = [other_mid, other_amount, row("other-scheme", Mastercard, 0)];
    assert_eq!(matched("iceland-bonus-card", &p, &no_card(), &pending), Err(NoMatch::NoCandidates));
    let pending = [pending.to_vec(), vec![row("right", Visa, 0)]].concat();
    assert_eq!(matched("iceland-bonus-card", &p, &no_card(), &pending), Ok("right".into()));
}

#[test]
fn candidates_lie_within_14_days_of_the_payment_by_transaction_date() {
    // Stonegate's Visa rule without an auth code has no time rule but the look-back.
    let p = payment(Visa);
    let days = |n: i64| row(&format!("{n}d"), Visa, n * 86_400);
    assert_eq!(matched("stonegate", &p, &no_card(), &[days(-15), days(15)]), Err(NoMatch::NoCandidates));
    assert_eq!(matched("stonegate", &p, &no_card(), &[days(-15), days(-14)]), Ok("-14d".into()));
    assert_eq!(matched("stonegate", &p, &no_card(), &[days(3)]), Ok("3d".into()));
}

/// A row `tolerance` seconds from the payment matches; one a second further does not.
fn assert_window(merchant: &str, scheme: CardScheme, tolerance: i64) {
    let p = payment(scheme);
    for edge in [-tolerance, tolerance] {
        assert_eq!(
            matched(merchant, &p, &no_card(), &[row("edge", scheme, edge)]),
            Ok("edge".into()),
            "{merchant} {scheme:?} {edge} s"
        );
    }
    assert_eq!(
        matched(merchant, &p, &no_card(), &[row("past", scheme, tolerance + 1)]),
        Err(NoMatch::NoCandidates),
        "{merchant} {scheme:?}"
    );
}

#[test]
fn a_window_includes_both_ends_of_the_merchants_tolerance() {
    for (merchant, tolerance) in [("iceland-bonus-card", 60), ("costa", 60), ("wasabi-club", 180)] {
        assert_window(merchant, Amex, tolerance);
    }
}

#[test]
fn with_an_auth_code_visa_and_mastercard_match_the_same_code_on_the_payments_utc_day() {
    for merchant in ["iceland-bonus-card", "wasabi-club", "costa", "itsu", "tgi-fridays", "stonegate"] {
        for scheme in [Visa, Mastercard] {
            let p = with_code(payment(scheme), "A1B2C3");
            let later_that_day = coded(row("later", scheme, 5 * 3_600), "A1B2C3");
            assert_eq!(
                matched(merchant, &p, &no_card(), &[later_that_day]),
                Ok("later".into()),
                "{merchant} {scheme:?}"
            );
            let other_code = coded(row("other", scheme, 0), "ZZZZZZ");
            let next_day = coded(row("next-day", scheme, 13 * 3_600), "A1B2C3");
            assert_eq!(
                matched(merchant, &p, &no_card(), &[other_code, next_day]),
                Err(NoMatch::NoCandidates),
                "{merchant} {scheme:?}"
            );
        }
    }
}

#[test]
fn a_code_40_seconds_away_across_utc_midnight_still_matches() {
    let mut p = with_code(payment(Visa), "A1B2C3");
    p.at = NOON + 12 * 3_600 * SECOND - 20 * SECOND; // 23:59:40
    let after_midnight = coded(row("after", Visa, 12 * 3_600 + 20), "A1B2C3");
    assert_eq!(after_midnight.at.div_euclid(DAY_MICROS), p.at.div_euclid(DAY_MICROS) + 1);
    assert_eq!(matched("costa", &p, &no_card(), &[after_midnight]), Ok("after".into()));
}

#[test]
fn without_an_auth_code_visa_and_mastercard_use_the_merchants_window() {
    for (merchant, scheme, tolerance) in [
        ("iceland-bonus-card", Visa, 60),
        ("iceland-bonus-card", Mastercard, 60),
        ("costa", Visa, 60),
        ("wasabi-club", Mastercard, 180),
        ("itsu", Mastercard, 180),
        ("tgi-fridays", Mastercard, 180),
        ("stonegate", Mastercard, 180),
    ] {
        assert_window(merchant, scheme, tolerance);
    }
}

#[test]
fn without_an_auth_code_stonegate_itsu_and_tgi_visa_have_no_time_rule_but_the_look_back() {
    for merchant in ["stonegate", "itsu", "tgi-fridays"] {
        let p = payment(Visa);
        assert_eq!(matched(merchant, &p, &no_card(), &[row("days-later", Visa, 5 * 86_400)]), Ok("days-later".into()));
    }
}

#[test]
fn itsu_does_not_match_amex_and_a_spotted_merchant_matches_nothing_here() {
    assert_eq!(matched("itsu", &payment(Amex), &no_card(), &[row("a", Amex, 0)]), Err(NoMatch::NotMatched));
    assert_eq!(matched("the-works", &payment(Visa), &no_card(), &[row("a", Visa, 0)]), Err(NoMatch::NotMatched));
}

#[test]
fn iceland_checks_an_amex_dpan_only_when_the_payment_has_both_first_six_and_last_four() {
    let pending = [card(row("other-card", Amex, 0), "371234", "9999")];
    let dpan = with_digits(payment(Amex), "371234", "1005");
    assert_eq!(matched("iceland-bonus-card", &dpan, &no_card(), &pending), Err(NoMatch::NoCandidates));
    let first_six_only = with_digits(payment(Amex), "371234", "");
    assert_eq!(matched("iceland-bonus-card", &first_six_only, &no_card(), &pending), Ok("other-card".into()));
    let same_card = [card(row("same-card", Amex, 0), "371234", "1005")];
    assert_eq!(matched("iceland-bonus-card", &dpan, &no_card(), &same_card), Ok("same-card".into()));
}

#[test]
fn wasabi_costa_and_tgi_compare_first_six_and_last_four_when_the_amex_payment_has_a_first_six() {
    for merchant in ["wasabi-club", "costa", "tgi-fridays"] {
        let p = with_digits(payment(Amex), "371234", "1005");
        let pending =
            [card(row("wrong-last-four", Amex, 0), "371234", "9999"), card(row("right", Amex, 30), "371234", "1005")];
        assert_eq!(matched(merchant, &p, &no_card(), &pending), Ok("right".into()), "{merchant}");
    }
}

#[test]
fn stonegate_compares_only_the_last_four_of_an_amex_dpan() {
    let p = with_digits(payment(Amex), "", "1005");
    let pending =
        [card(row("other-first-six", Amex, 0), "379999", "1005"), card(row("wrong", Amex, 0), "371234", "9999")];
    assert_eq!(matched("stonegate", &p, &no_card(), &pending), Ok("other-first-six".into()));
}

#[test]
fn several_candidates_are_narrowed_by_time_then_by_the_card_on_file() {
    let p = with_code(payment(Visa), "A1B2C3");
    // Same code, same day: the time fallback keeps the one within Costa's 60 s.
    let pending = [coded(row("near", Visa, 40), "A1B2C3"), coded(row("far", Visa, 3_600), "A1B2C3")];
    assert_eq!(matched("costa", &p, &no_card(), &pending), Ok("near".into()));
    // Both near: the card fallback compares with the card holder's card on file, not the payment.
    let pending = [
        card(coded(row("theirs", Visa, 10), "A1B2C3"), "412345", "0001"),
        card(coded(row("mine", Visa, 20), "A1B2C3"), "454545", "4242"),
    ];
    let p_digits = with_digits(p.clone(), "412345", "0001");
    assert_eq!(matched("wasabi-club", &p_digits, &on_file("454545", "4242"), &pending), Ok("mine".into()));
}

#[test]
fn iceland_runs_its_fallbacks_only_for_a_payment_without_a_first_six() {
    let pending = [card(row("a", Visa, 10), "454545", "4242"), card(row("b", Visa, 20), "412345", "0001")];
    let holder = on_file("454545", "4242");
    assert_eq!(matched("iceland-bonus-card", &payment(Visa), &holder, &pending), Ok("a".into()));
    let p = with_digits(payment(Visa), "454545", "");
    assert_eq!(matched("iceland-bonus-card", &p, &holder, &pending), Err(NoMatch::Ambiguous(2)));
}

#[test]
fn amex_fallbacks_at_wasabi_run_only_without_a_dpan() {
    let pending = [card(row("a", Amex, 10), "371234", "1005"), card(row("b", Amex, 20), "371234", "1005")];
    // With a DPAN the card on file is not consulted, even when it would leave none.
    let p = with_digits(payment(Amex), "371234", "1005");
    assert_eq!(matched("wasabi-club", &p, &on_file("371234", "0000"), &pending), Err(NoMatch::Ambiguous(2)));
    let holder = on_file("371234", "1005");
    let pending = [card(row("a", Amex, 10), "371234", "1005"), card(row("b", Amex, 20), "371299", "7777")];
    assert_eq!(matched("wasabi-club", &payment(Amex), &holder, &pending), Ok("a".into()));
}

#[test]
fn stonegate_itsu_and_tgi_narrow_visa_by_the_last_four_on_file_and_a_fallback_may_leave_none() {
    for merchant in ["stonegate", "itsu", "tgi-fridays"] {
        let pending = [card(row("a", Visa, 86_400), "", "4242"), card(row("b", Visa, -86_400), "", "0001")];
        assert_eq!(matched(merchant, &payment(Visa), &on_file("", "4242"), &pending), Ok("a".into()));
        assert_eq!(
            matched(merchant, &payment(Visa), &on_file("", "7777"), &pending),
            Err(NoMatch::NarrowedToNone(Fallback::LastFour))
        );
        // A card holder with no card on file narrows nothing to one.
        assert_eq!(
            matched(merchant, &payment(Visa), &no_card(), &pending),
            Err(NoMatch::NarrowedToNone(Fallback::LastFour))
        );
    }
}

#[test]
fn candidates_the_last_fallback_leaves_several_of_are_no_match() {
    let pending = [card(row("a", Mastercard, 10), "", "4242"), card(row("b", Mastercard, 20), "", "4242")];
    assert_eq!(matched("stonegate", &payment(Mastercard), &on_file("", "4242"), &pending), Err(NoMatch::Ambiguous(2)));
}

fn any_row() -> impl Strategy<Value = SchemeTransaction> {
    (
        prop_oneof![Just(Visa), Just(Mastercard), Just(Amex)],
        prop::sample::select(vec![1_250i64, 1_300]),
        -400i64..400,
        prop::sample::select(vec!["", "A1B2C3", "ZZZZZZ"]),
        prop::sample::select(vec!["", "4242", "0001"]),
    )
        .prop_map(|(scheme, amount, seconds, code, last_four)| {
            let mut r = card(coded(row("unnamed", scheme, seconds), code), "454545", last_four);
            r.amount = amount;
            r
        })
}

fn any_payment() -> impl Strategy<Value = Payment> {
    (
        prop_oneof![Just(Visa), Just(Mastercard), Just(Amex)],
        prop::sample::select(vec!["", "A1B2C3"]),
        prop::sample::select(vec!["", "4242"]),
    )
        .prop_map(|(scheme, code, last_four)| with_digits(with_code(payment(scheme), code), "454545", last_four))
}

/// Pending rows, each with its own id: a bucket holds its rows by id, so two pending rows never
/// share one.
fn any_pending() -> impl Strategy<Value = Vec<SchemeTransaction>> {
    prop::collection::vec(any_row(), 0..12).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(n, mut r)| {
                r.transaction_id = format!("r{n}");
                r
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn the_match_does_not_depend_on_the_order_of_the_pending_transactions_and_fits_the_payment(
        merchant in prop::sample::select(Profiles::builtin().merchants().map(str::to_string).collect::<Vec<_>>()),
        p in any_payment(),
        holder_last_four in prop::sample::select(vec!["", "4242", "0001"]),
        pending in any_pending(),
        rotation in 0usize..12,
    ) {
        let holder = on_file("454545", holder_last_four);
        let forwards = matched(&merchant, &p, &holder, &pending);
        let mut reordered = pending.clone();
        reordered.reverse();
        if !reordered.is_empty() {
            let by = rotation % reordered.len();
            reordered.rotate_left(by);
        }
        prop_assert_eq!(&forwards, &matched(&merchant, &p, &holder, &reordered));
        if let Ok(id) = forwards {
            let m = pending.iter().find(|r| r.transaction_id == id).expect("the match is pending");
            prop_assert_eq!(m.amount, p.amount);
            prop_assert_eq!(m.card_scheme, p.card_scheme);
            prop_assert!(m.mids.contains(&p.mid));
        }
    }
}
