//! Feed files in the shapes the seed's importers read become the records the domain imports;
//! a bad row is refused with its line and reason while the rest import, and a file of another
//! shape is refused whole.

use clio_matching::import::{FileError, Parsed, Row, Source, parse};
use clio_matching::messages::{MerchantTransaction, PaymentTransaction};
use clio_matching::settlement::{sha256_hex, visa_settlement_key};

/// 2026-06-01 10:00:00 UTC in microseconds.
const JUNE_FIRST_TEN_UTC: i64 = 1_780_308_000_000_000;
const SECOND: i64 = 1_000_000;

fn payments(parsed: &Parsed) -> Vec<&PaymentTransaction> {
    parsed
        .rows
        .iter()
        .map(|row| match &row.item {
            Row::Payment(payment) => payment,
            Row::Merchant(_) => panic!("a payment feed gave a merchant row"),
        })
        .collect()
}

fn merchant_rows(parsed: &Parsed) -> Vec<(&MerchantTransaction, Option<&str>)> {
    parsed
        .rows
        .iter()
        .map(|row| match &row.item {
            Row::Merchant(m) => (&m.transaction, m.location.as_deref()),
            Row::Payment(_) => panic!("a merchant feed gave a payment"),
        })
        .collect()
}

fn refusals(parsed: &Parsed) -> Vec<String> {
    parsed.refused.iter().map(ToString::to_string).collect()
}

fn visa_message(prefix: &str, elements: &[(&str, &str)]) -> String {
    let elements: Vec<String> =
        elements.iter().map(|(k, v)| format!(r#"{{"Key": "{prefix}.{k}", "Value": "{v}"}}"#)).collect();
    format!(
        r#"{{"ExternalUserId": "token-1", "MessageId": "m-1", "MessageElementsCollection": [{}]}}"#,
        elements.join(", ")
    )
}

#[test]
fn a_visa_auth_and_its_settlement_share_a_settlement_key_and_a_refund_is_negative() {
    let auth = visa_message(
        "Transaction",
        &[
            ("VipTransactionId", "vip-1"),
            ("MerchantCardAcceptorId", "mid-1"),
            ("VisaStoreId", "0"),
            ("VisaMerchantId", "psimi-1"),
            ("TimeStampYYMMDD", "2026-06-01T10:00:00"),
            ("TransactionAmount", "12.50"),
            ("AuthCode", "A1B2C3"),
        ],
    );
    let parsed = parse(Source::VisaAuth, &format!("[\n{auth}\n]")).unwrap();
    let [auth] = payments(&parsed)[..] else { panic!("one auth: {parsed:?}") };
    assert_eq!((auth.feed.as_str(), auth.provider.as_str(), auth.transaction_id.as_str()), ("AUTH", "visa", "vip-1"));
    assert_eq!(auth.settlement_key, visa_settlement_key("vip-1").unwrap());
    assert_eq!((auth.amount, auth.at, auth.source_zone.as_str()), (1_250, JUNE_FIRST_TEN_UTC, "Etc/GMT"));
    assert_eq!((auth.primary_mid.as_str(), auth.secondary_mid.as_str(), auth.psimi.as_str()), ("mid-1", "", "psimi-1"));
    assert_eq!((auth.card_token.as_str(), auth.auth_code.as_str()), ("token-1", "A1B2C3"));
    assert_eq!(parsed.rows[0].line, 2);

    let settled = visa_message(
        "Transaction",
        &[
            ("VipTransactionId", "vip-1"),
            ("MerchantCardAcceptorId", "mid-1"),
            ("MerchantDateTimeGMT", "2026-06-01 10:00:05"),
            ("SettlementAmount", "12.75"),
        ],
    );
    let parsed = parse(Source::VisaSettlement, &settled).unwrap();
    let [settled] = payments(&parsed)[..] else { panic!("one settlement: {parsed:?}") };
    assert_eq!(
        (settled.feed.as_str(), settled.amount, settled.at),
        ("SETTLED", 1_275, JUNE_FIRST_TEN_UTC + 5 * SECOND)
    );
    assert_eq!(settled.settlement_key, auth.settlement_key);

    let refund = visa_message(
        "ReturnTransaction",
        &[
            ("VipTransactionId", "vip-2"),
            ("CardAcceptorIdCode", "mid-1"),
            ("DateTime", "6/1/2026 10:00:00 AM"),
            ("Amount", "4.00"),
        ],
    );
    let parsed = parse(Source::VisaRefund, &refund).unwrap();
    let [refund] = payments(&parsed)[..] else { panic!("one refund: {parsed:?}") };
    assert_eq!((refund.feed.as_str(), refund.amount, refund.at), ("REFUND", -400, JUNE_FIRST_TEN_UTC));
}

#[test]
fn mastercard_auths_read_london_time_and_carry_their_local_date_in_id_and_key() {
    let file = concat!(
        r#"{"third_party_id": "tp-1", "time": "2026-06-01 11:00:00", "amount": "9.99", "currency_code": "GBP", "mid": "mc-1", "payment_card_token": "tok"}"#,
        "\n",
        r#"{"time": "2026-06-01 11:00:00", "amount": "9.99", "currency_code": "GBP", "mid": "mc-1", "payment_card_token": "tok"}"#,
        "\n",
    );
    let parsed = parse(Source::MastercardAuth, file).unwrap();
    let [auth] = payments(&parsed)[..] else { panic!("one auth: {parsed:?}") };
    assert_eq!((auth.transaction_id.as_str(), auth.at, auth.amount), ("tp-1_20260601", JUNE_FIRST_TEN_UTC, 999));
    assert_eq!(auth.settlement_key, sha256_hex("mastercard.tp-1.2026-06-01.mc-1.tok"));
    assert_eq!(
        refusals(&parsed),
        ["line 2: a mastercard transaction needs its third-party id to derive its settlement key"],
        "the seed made up a random id; a re-sent file then imported the row twice"
    );
}

fn tgx2_line(id: &str, date: &str, time: &str, amount: &str) -> String {
    let mut line = vec![b' '; 770];
    let mut put = |start: usize, text: &str| line[start..start + text.len()].copy_from_slice(text.as_bytes());
    put(0, "D");
    put(21, "tok");
    put(102, date);
    put(451, "mc-1");
    put(500, "loc-1");
    put(512, "agg-1");
    put(518, amount);
    put(563, time);
    put(567, "CODE01");
    put(761, id);
    String::from_utf8(line).unwrap()
}

#[test]
fn a_mastercard_settlement_file_is_fixed_width_after_its_header_and_bad_records_are_named() {
    let file = [
        "H header line".to_string(),
        tgx2_line("tp-1", "20260601", "1100", "000000000999"),
        "T trailer".to_string(),
        tgx2_line("tp-2", "20260632", "1100", "000000000100"),
        "D too short".to_string(),
    ]
    .join("\n");
    let parsed = parse(Source::MastercardSettlement, &file).unwrap();
    let [settled] = payments(&parsed)[..] else { panic!("one settlement: {parsed:?}") };
    assert_eq!(
        (settled.transaction_id.as_str(), settled.amount, settled.at),
        ("tp-1_20260601", 999, JUNE_FIRST_TEN_UTC)
    );
    assert_eq!(settled.settlement_key, sha256_hex("mastercard.tp-1.2026-06-01.mc-1.tok"), "the auth's key");
    assert_eq!(
        (settled.secondary_mid.as_str(), settled.psimi.as_str(), settled.auth_code.as_str()),
        ("loc-1", "agg-1", "CODE01")
    );
    assert_eq!(
        refusals(&parsed),
        [
            "line 4: its date \"20260632\" is not YYYYMMDD",
            "line 5: a detail record is 770 characters wide; this one is 11"
        ]
    );
}

#[test]
fn amex_auths_are_in_mst_and_a_settlements_dpan_gives_the_card_digits() {
    let auth = r#"[{"transaction_id": "ax-1", "transaction_time": "2026-06-01 03:00:00", "transaction_amount": 20, "cm_alias": "alias", "approval_code": "777", "merchant_number": "am-1"}]"#;
    let parsed = parse(Source::AmexAuth, auth).unwrap();
    let [auth] = payments(&parsed)[..] else { panic!("one auth: {parsed:?}") };
    assert_eq!((auth.settlement_key.as_str(), auth.at, auth.amount), ("ax-1", JUNE_FIRST_TEN_UTC, 2_000));
    assert_eq!((auth.source_zone.as_str(), auth.approval_code.as_str()), ("MST", "777"));

    let settlement = r#"[{"transactionId": "ax-1", "transactionDate": "2026-06-01 11:00:00", "transactionAmount": "20.00", "cardToken": "alias", "dpan": "371234XXXXX1005", "approvalCode": "777", "merchantNumber": "am-1"},
{"transactionId": "ax-2", "transactionDate": "2026-06-01 11:00:00", "transactionAmount": "20.00", "cardToken": "alias", "dpan": "3712341005", "merchantNumber": "am-1"}]"#;
    let parsed = parse(Source::AmexSettlement, settlement).unwrap();
    let [settled] = payments(&parsed)[..] else { panic!("one settlement: {parsed:?}") };
    assert_eq!(
        (settled.first_six.as_str(), settled.last_four.as_str(), settled.at),
        ("371234", "1005", JUNE_FIRST_TEN_UTC)
    );
    assert_eq!(refusals(&parsed), ["line 2: its dpan \"3712341005\" is not first six, XXXXX, last four"]);
}

#[test]
fn iceland_leaves_out_declines_and_other_cards_and_refuses_a_bad_amount_by_line() {
    let file = "\
TransactionCardFirst6,TransactionCardLast4,TransactionCardExpiry,TransactionCardSchemeId,TransactionCardScheme,TransactionStore_Id,TransactionTimestamp,TransactionAmountValue,TransactionAmountUnit,TransactionCashbackValue,TransactionCashbackUnit,TransactionId,TransactionAuthCode
454545,4242,01/80,6,Visa Debit,store-1,2026-06-01 11:00:00,12.50,GBP,0,GBP,ic-1,A1B2C3
454545,4242,01/80,6,Visa,store-1,2026-06-01 11:00:00,12.50,GBP,0,GBP,ic-2,decline
601100,0001,01/80,9,Discover,store-1,2026-06-01 11:00:00,12.50,GBP,0,GBP,ic-3,A1
454545,4242,01/80,6,Visa,store-1,2026-06-01 11:00:00,twelve,GBP,0,GBP,ic-4,A1
";
    let parsed = parse(Source::Iceland, file).unwrap();
    let [(row, None)] = merchant_rows(&parsed)[..] else { panic!("one row: {parsed:?}") };
    assert_eq!(
        (row.transaction_id.as_str(), row.merchant.as_str(), row.provider.as_str()),
        ("ic-1", "iceland-bonus-card", "visa")
    );
    assert_eq!((row.mids.clone(), row.amount, row.at), (vec!["store-1".to_string()], 1_250, JUNE_FIRST_TEN_UTC));
    assert_eq!((row.first_six.as_str(), row.last_four.as_str(), row.auth_code.as_str()), ("454545", "4242", "A1B2C3"));
    let skipped: Vec<String> = parsed.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        [
            "line 3: a declined payment (auth code \"decline\")",
            "line 4: card scheme \"Discover\" is not Visa, Mastercard or Amex"
        ]
    );
    assert_eq!(refusals(&parsed), ["line 5: \"twelve\" is not an amount"]);
}

#[test]
fn wasabi_is_read_by_receipt_number_with_card_digits_from_the_masked_number() {
    let file = "\
Store No_,Entry No_,Transaction No_,tender_type,Amount,Card Number,Card Type Name,Auth_code,Authorisation_Ok,Date,Time,EFT Merchant No_,Receipt No_
1,2,3,4,12.50,454545******4242,Visa,A1B2C3,1,01/06/2026,11:00:00,wasabi-mid,rcpt-1
";
    let parsed = parse(Source::Wasabi, file).unwrap();
    let [(row, None)] = merchant_rows(&parsed)[..] else { panic!("one row: {parsed:?}") };
    assert_eq!((row.transaction_id.as_str(), row.at, row.amount), ("rcpt-1", JUNE_FIRST_TEN_UTC, 1_250));
    assert_eq!((row.first_six.as_str(), row.last_four.as_str()), ("454545", "4242"));
}

#[test]
fn tgi_fridays_adds_the_gratuity_and_takes_the_scheme_from_the_first_digit() {
    let file = "\
transaction_id,payment_card_type,payment_card_first_six,payment_card_last_four,amount,gratuity_amount,currency_code,auth_code,date,merchant_identifier,retailer_location_id,metadata,items_ordered
t-1,card,510000,4444,10.00,1.50,GBP,C0DE12,2026-06-01T11:00:00,tgi-mid,,,
t-1,unknown,999999,4444,10.00,1.50,GBP,C0DE12,2026-06-01T11:00:00,tgi-mid,,,
";
    let parsed = parse(Source::TgiFridays, file).unwrap();
    let [(row, None)] = merchant_rows(&parsed)[..] else { panic!("one row: {parsed:?}") };
    assert_eq!((row.provider.as_str(), row.amount, row.at), ("mastercard", 1_150, JUNE_FIRST_TEN_UTC));
    assert_eq!(row.transaction_id, sha256_hex("2026-06-01T11:00:00.tgi-mid.10.00.t-1.1.50"));
    assert_eq!(parsed.skipped.len(), 1);
}

#[test]
fn itsu_and_stonegate_name_a_location_which_the_mid_registry_resolves() {
    let itsu = "\
transaction_id,payment_card_type,payment_card_first_six,payment_card_last_four,amount,currency_code,auth_code,date,retailer_location_id
it-1,visa,454545,4242,6.00,GBP,A1,2026-06-01T11:00:00,loc-9
it-2,visa,454545,4242,4.99,GBP,A1,2026-06-01T11:00:00,loc-9
it-3,diners,454545,4242,6.00,GBP,A1,2026-06-01T11:00:00,loc-9
";
    let parsed = parse(Source::Itsu, itsu).unwrap();
    let [(row, Some("loc-9"))] = merchant_rows(&parsed)[..] else { panic!("one row at loc-9: {parsed:?}") };
    assert!(row.mids.is_empty());
    assert_eq!(parsed.skipped.len(), 2, "under 500p, and not a scheme Itsu takes");

    let stonegate = r#"[{"transaction_id": "sg-1", "payment_card_type": "VS", "payment_card_first_six": "", "payment_card_last_four": "4242", "amount": 12.5, "currency_code": "GBP", "auth_code": "A1", "date": "2026-06-01T11:00:00+01:00", "retailer_location_id": "pub-7", "metadata": {"AccountID": "acc-1"}},
{"transaction_id": "sg-2", "payment_card_type": "", "payment_card_first_six": "", "payment_card_last_four": "4242", "amount": 12.5, "currency_code": "GBP", "auth_code": "A1", "date": "2026-06-01T11:00:00+01:00", "retailer_location_id": "pub-7", "metadata": {"AccountID": "acc-1"}},
{"transaction_id": "sg-3", "payment_card_type": "visa", "amount": 12.5, "currency_code": "GBP", "date": "2026-06-01T11:00:00+01:00", "retailer_location_id": "pub-7"}]"#;
    let parsed = parse(Source::Stonegate, stonegate).unwrap();
    let [(row, Some("pub-7"))] = merchant_rows(&parsed)[..] else { panic!("one row at pub-7: {parsed:?}") };
    assert_eq!(
        (row.provider.as_str(), row.amount, row.at, row.source_zone.as_str()),
        ("visa", 1_250, JUNE_FIRST_TEN_UTC, "+01:00")
    );
    assert_eq!(row.transaction_id, sha256_hex("2026-06-01T11:00:00+01:00.A1.acc-1.12.5.sg-1"));
    assert_eq!(parsed.skipped.len(), 1, "no scheme from either field");
    assert_eq!(refusals(&parsed), ["line 3: it has no metadata.AccountID"]);
}

#[test]
fn costa_messages_name_their_mid_and_keep_their_metadata() {
    let file = r#"{"transaction_id": "co-1", "payment_card_type": "amex", "payment_card_first_six": "371234", "payment_card_last_four": "1005", "amount": "3.10", "currency_code": "GBP", "auth_code": "", "date": "2026-06-01T10:00:00Z", "merchant_identifier": "costa-mid", "metadata": {"till": 3}, "items_ordered": "[]"}"#;
    let parsed = parse(Source::Costa, file).unwrap();
    let [(row, None)] = merchant_rows(&parsed)[..] else { panic!("one row: {parsed:?}") };
    assert_eq!(
        (row.provider.as_str(), row.amount, row.at, row.mids.clone()),
        ("amex", 310, JUNE_FIRST_TEN_UTC, vec!["costa-mid".to_string()])
    );
    assert!(row.extra.contains("\"till\":3"), "{}", row.extra);
}

#[test]
fn a_file_of_another_shape_is_refused_whole_and_says_what_the_feed_looks_like() {
    let csv = "a,b,c\n1,2,3\n";
    for source in [Source::VisaAuth, Source::AmexSettlement, Source::Costa] {
        let error = parse(source, csv).unwrap_err();
        assert!(matches!(error, FileError::WrongShape { .. }), "{source:?}: {error}");
        assert!(error.to_string().contains("JSON"), "{error}");
    }
    let costa = r#"[{"transaction_id": "co-1"}]"#;
    let error = parse(Source::AmexAuth, costa).unwrap_err().to_string();
    assert!(error.contains("its first record has no cm_alias"), "{error}");
    let error = parse(Source::Iceland, "TransactionId,Amount\n1,2\n").unwrap_err().to_string();
    assert!(error.contains("lacks TransactionStore_Id"), "{error}");
    let error = parse(Source::MastercardSettlement, "header\nX not a detail\n").unwrap_err().to_string();
    assert!(error.contains("detail record"), "{error}");
    assert!(Source::parse("visa").unwrap_err().to_string().contains("visa-auth, visa-settlement"));
    assert!(parse(Source::Itsu, "").unwrap_err().to_string().contains("lacks"), "an empty file has no header row");
}

#[test]
fn a_csv_row_of_another_width_is_refused_by_line_and_the_rest_import() {
    let file = "\
transaction_id,payment_card_type,payment_card_first_six,payment_card_last_four,amount,gratuity_amount,currency_code,auth_code,date,merchant_identifier
t-1,visa,454545,4242,10.00,0,GBP,A1,2026-06-01T11:00:00,tgi-mid
t-2,visa,454545
t-3,visa,454545,4242,10.00,0,GBP,A1,2026-06-01T11:00:00,tgi-mid
";
    let parsed = parse(Source::TgiFridays, file).unwrap();
    assert_eq!(parsed.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    let refused = refusals(&parsed);
    assert!(refused.len() == 1 && refused[0].starts_with("line 3: it is not a CSV row"), "{refused:?}");
}
