//! What each command means for an account: the protocol's rules, in the protocol's order.

use clio_aggregate::{Context, Decision};

use crate::account::{Account, Coordinator};
use crate::messages::*;
use crate::rules::*;
use crate::update::{Change, first_number, next_update, principal_changed};

type LedgerDecision = Decision<LedgerEvent, LedgerCommand>;

pub fn decide(account: &Account, command: &LedgerCommand, context: &Context) -> LedgerDecision {
    let now = context.now_micros;
    match command {
        LedgerCommand::ConfigureAccount(c) => configure(account, c, now),
        LedgerCommand::PrepareTransfer(p) => prepare(account, p, now),
        LedgerCommand::VerifyRecipient(v) => verify_recipient(account, v),
        LedgerCommand::RecipientVerified(r) => recipient_verified(account, r, now),
        LedgerCommand::FinalizeTransfer(f) => finalize(account, f, now),
        LedgerCommand::PendingBalanceChange(c) => change_balance(account, c, now),
        LedgerCommand::MaintainAccount(m) => crate::maintain::maintain(account, m, now),
    }
}

fn configure(account: &Account, c: &ConfigureAccount, now: i64) -> LedgerDecision {
    let root = (c.creditor_id == ROOT_CREDITOR_ID).then(|| parse_root_config(&c.config_data));
    let valid = c.negligible_amount.is_finite()
        && c.negligible_amount >= 0.0
        && c.config_data.len() <= CONFIG_DATA_MAX_BYTES
        && !matches!(root, Some(Err(_)));
    if !valid {
        return Decision::events(vec![LedgerEvent::RejectedConfig(RejectedConfig {
            debtor_id: c.debtor_id,
            creditor_id: c.creditor_id,
            config_ts: c.ts,
            config_seqnum: c.seqnum,
            config_flags: c.config_flags,
            negligible_amount: c.negligible_amount,
            config_data: c.config_data.clone(),
            rejection_code: INVALID_CONFIGURATION.into(),
            ts: now,
        })]);
    }
    match &account.update {
        Some(last) if !config_is_later(last.last_config_ts, last.last_config_seqnum, c.ts, c.seqnum) => {
            return Decision::nothing();
        }
        None if now - c.ts > SIGNAL_MAX_AGE_MICROS => return Decision::nothing(),
        _ => {}
    }
    let mut update = next_update(account, c.debtor_id, c.creditor_id, now);
    update.last_config_ts = c.ts;
    update.last_config_seqnum = c.seqnum;
    update.negligible_amount = c.negligible_amount;
    update.config_flags = c.config_flags;
    update.config_data = c.config_data.clone();
    if let Some(Ok(root)) = root {
        update.debtor_info_iri = root.info_iri;
        update.debtor_info_content_type = root.info_content_type;
        update.debtor_info_sha256 = root.info_sha256;
    }
    let mut events = vec![LedgerEvent::AccountUpdate(update)];
    if account.deleted {
        // Brought back by a later configuration: the interest rate must reach it again.
        let revived = AccountStatus {
            deleted: false,
            established_interest_rate: false,
            ..account.status(c.debtor_id, c.creditor_id, now)
        };
        events.push(LedgerEvent::AccountStatus(revived));
    }
    Decision::events(events)
}

/// Why a transfer request is malformed, if it is.
fn malformed_request(p: &PrepareTransfer) -> Option<String> {
    if !valid_coordinator_type(&p.coordinator_type) {
        return Some(format!("coordinator_type {:?} must be 1 to 30 ASCII characters", p.coordinator_type));
    }
    if p.min_locked_amount < 0 || p.max_locked_amount < p.min_locked_amount {
        return Some("0 <= min_locked_amount <= max_locked_amount must hold".into());
    }
    if p.recipient.len() > 100 || !p.recipient.is_ascii() {
        return Some("recipient must be at most 100 ASCII characters".into());
    }
    if p.max_commit_delay < 0 {
        return Some("max_commit_delay must not be negative".into());
    }
    if p.coordinator_type == "direct" && p.coordinator_id != p.creditor_id {
        return Some("a direct transfer's coordinator_id must be the sender's creditor_id".into());
    }
    if p.coordinator_type == "issuing" && (p.coordinator_id != p.debtor_id || p.creditor_id != ROOT_CREDITOR_ID) {
        return Some("an issuing transfer comes from the root account, coordinated by the debtor".into());
    }
    None
}

/// A transfer request as the prepare checks read it, borrowed from the PrepareTransfer that
/// asked or from the RecipientVerified that answered for it (which repeats its fields), so
/// that the answer path builds no second request.
struct Request<'a> {
    debtor_id: i64,
    creditor_id: i64,
    coordinator_type: &'a str,
    coordinator_id: i64,
    coordinator_request_id: i64,
    min_locked_amount: i64,
    max_locked_amount: i64,
    final_interest_rate_ts: i64,
    max_commit_delay: i32,
    ts: i64,
}

impl<'a> Request<'a> {
    fn coordinator(&self) -> Coordinator<'a> {
        (self.coordinator_type, self.coordinator_id, self.coordinator_request_id)
    }
}

impl<'a> From<&'a PrepareTransfer> for Request<'a> {
    fn from(p: &'a PrepareTransfer) -> Self {
        Self {
            debtor_id: p.debtor_id,
            creditor_id: p.creditor_id,
            coordinator_type: &p.coordinator_type,
            coordinator_id: p.coordinator_id,
            coordinator_request_id: p.coordinator_request_id,
            min_locked_amount: p.min_locked_amount,
            max_locked_amount: p.max_locked_amount,
            final_interest_rate_ts: p.final_interest_rate_ts,
            max_commit_delay: p.max_commit_delay,
            ts: p.ts,
        }
    }
}

impl<'a> From<&'a RecipientVerified> for Request<'a> {
    fn from(r: &'a RecipientVerified) -> Self {
        Self {
            debtor_id: r.debtor_id,
            creditor_id: r.creditor_id,
            coordinator_type: &r.coordinator_type,
            coordinator_id: r.coordinator_id,
            coordinator_request_id: r.coordinator_request_id,
            min_locked_amount: r.min_locked_amount,
            max_locked_amount: r.max_locked_amount,
            final_interest_rate_ts: r.final_interest_rate_ts,
            max_commit_delay: r.max_commit_delay,
            ts: r.ts,
        }
    }
}

fn rejected(p: &Request<'_>, account: &Account, status: &str, now: i64) -> LedgerDecision {
    Decision::events(vec![LedgerEvent::RejectedTransfer(RejectedTransfer {
        debtor_id: p.debtor_id,
        creditor_id: p.creditor_id,
        coordinator_type: p.coordinator_type.to_owned(),
        coordinator_id: p.coordinator_id,
        coordinator_request_id: p.coordinator_request_id,
        status_code: status.into(),
        total_locked_amount: account.total_locked_amount,
        ts: now,
    })])
}

fn prepare(account: &Account, p: &PrepareTransfer, now: i64) -> LedgerDecision {
    if let Some(reason) = malformed_request(p) {
        return Decision::invalid(reason);
    }
    let request = Request::from(p);
    if let Some(prepared) = account.prepared_for(request.coordinator()) {
        // A repeated request: the same answer again, and no second lock.
        return Decision::events(vec![LedgerEvent::PreparedTransfer(PreparedTransfer { ts: now, ..prepared.clone() })]);
    }
    if !account.exists() {
        return rejected(&request, account, SENDER_IS_UNREACHABLE, now);
    }
    let Some(recipient) = parse_creditor(&p.recipient) else {
        return rejected(&request, account, RECIPIENT_IS_UNREACHABLE, now);
    };
    if recipient == ROOT_CREDITOR_ID || recipient == p.creditor_id {
        // The root account is always reachable, and a transfer to oneself is refused anyway.
        return settle(account, &request, recipient, true, now, MAX_PENDING_TRANSFERS);
    }
    Decision {
        events: Vec::new(),
        commands: vec![(
            account_key(p.debtor_id, recipient),
            LedgerCommand::VerifyRecipient(VerifyRecipient {
                debtor_id: p.debtor_id,
                creditor_id: recipient,
                sender_creditor_id: p.creditor_id,
                coordinator_type: p.coordinator_type.clone(),
                coordinator_id: p.coordinator_id,
                coordinator_request_id: p.coordinator_request_id,
                min_locked_amount: p.min_locked_amount,
                max_locked_amount: p.max_locked_amount,
                final_interest_rate_ts: p.final_interest_rate_ts,
                max_commit_delay: p.max_commit_delay,
                ts: p.ts,
            }),
        )],
        foreign: Vec::new(),
        invalid: None,
    }
}

fn verify_recipient(account: &Account, v: &VerifyRecipient) -> LedgerDecision {
    Decision {
        events: Vec::new(),
        commands: vec![(
            account_key(v.debtor_id, v.sender_creditor_id),
            LedgerCommand::RecipientVerified(RecipientVerified {
                debtor_id: v.debtor_id,
                creditor_id: v.sender_creditor_id,
                recipient_creditor_id: v.creditor_id,
                reachable: account.reachable(),
                coordinator_type: v.coordinator_type.clone(),
                coordinator_id: v.coordinator_id,
                coordinator_request_id: v.coordinator_request_id,
                min_locked_amount: v.min_locked_amount,
                max_locked_amount: v.max_locked_amount,
                final_interest_rate_ts: v.final_interest_rate_ts,
                max_commit_delay: v.max_commit_delay,
                ts: v.ts,
            }),
        )],
        foreign: Vec::new(),
        invalid: None,
    }
}

fn recipient_verified(account: &Account, r: &RecipientVerified, now: i64) -> LedgerDecision {
    let request = Request::from(r);
    if account.prepared_for(request.coordinator()).is_some() {
        return Decision::nothing(); // an answer delivered twice
    }
    settle(account, &request, r.recipient_creditor_id, r.reachable, now, MAX_PENDING_TRANSFERS)
}

/// The lowest balance an account may reach: the root account issues down to its limit.
fn min_balance(account: &Account, creditor_id: i64) -> i128 {
    if creditor_id != ROOT_CREDITOR_ID {
        return 0;
    }
    let config = account.update.as_ref().map(|u| u.config_data.as_str()).unwrap_or_default();
    -i128::from(parse_root_config(config).unwrap_or_default().limit)
}

/// What the account can still lock or spend by `now`:
/// floor(principal + accrued interest) - locked - minimum.
fn spendable(account: &Account, creditor_id: i64, now: i64) -> i128 {
    let balance = i128::from(account.principal()) + account.interest_at(now).floor() as i128;
    balance - i128::from(account.total_locked_amount) - min_balance(account, creditor_id)
}

/// The prepare checks, in the protocol's order; insufficient amount is last so that a retry
/// with a smaller amount can succeed.
/// (`max_pending` is a parameter so that a test can reach the limit.)
fn settle(
    account: &Account,
    p: &Request<'_>,
    recipient: i64,
    reachable: bool,
    now: i64,
    max_pending: u32,
) -> LedgerDecision {
    let Some(update) = account.update.as_ref().filter(|_| account.exists()) else {
        return rejected(p, account, SENDER_IS_UNREACHABLE, now);
    };
    if !reachable
        || (p.coordinator_type == "agent" && p.creditor_id & AGENT_SUBNET_MASK != recipient & AGENT_SUBNET_MASK)
    {
        return rejected(p, account, RECIPIENT_IS_UNREACHABLE, now);
    }
    if account.prepared.len() as u64 >= u64::from(max_pending) {
        return rejected(p, account, TOO_MANY_TRANSFERS, now);
    }
    if recipient == p.creditor_id {
        return rejected(p, account, RECIPIENT_SAME_AS_SENDER, now);
    }
    if update.last_interest_rate_change_ts > p.final_interest_rate_ts {
        return rejected(p, account, NEWER_INTEREST_RATE, now);
    }
    let locked = spendable(account, p.creditor_id, now).clamp(0, i128::from(p.max_locked_amount)) as i64;
    if locked < p.min_locked_amount {
        return rejected(p, account, INSUFFICIENT_AVAILABLE_AMOUNT, now);
    }
    let transfer_id = account.last_transfer_id.max(first_number(update.creation_date)) + 1;
    let by_period = now.saturating_add(i64::from(update.commit_period) * MICROS_PER_SECOND);
    let by_delay = p.ts.saturating_add(i64::from(p.max_commit_delay) * MICROS_PER_SECOND);
    Decision::events(vec![LedgerEvent::PreparedTransfer(PreparedTransfer {
        debtor_id: p.debtor_id,
        creditor_id: p.creditor_id,
        transfer_id,
        coordinator_type: p.coordinator_type.to_owned(),
        coordinator_id: p.coordinator_id,
        coordinator_request_id: p.coordinator_request_id,
        locked_amount: locked,
        recipient: creditor_text(recipient),
        prepared_at: now,
        demurrage_rate: update.demurrage_rate,
        deadline: by_period.min(by_delay),
        final_interest_rate_ts: p.final_interest_rate_ts,
        ts: now,
    })])
}

fn finalize(account: &Account, f: &FinalizeTransfer, now: i64) -> LedgerDecision {
    if f.committed_amount < 0 {
        return Decision::invalid("committed_amount must not be negative");
    }
    if f.transfer_note.len() > TRANSFER_NOTE_MAX_BYTES {
        return Decision::invalid(format!("transfer_note is longer than {TRANSFER_NOTE_MAX_BYTES} bytes"));
    }
    if !valid_note_format(&f.transfer_note_format) {
        return Decision::invalid("transfer_note_format must match ^[0-9A-Za-z.-]{0,8}$");
    }
    // Must match a prepared transfer on every key field; anything else is ignored.
    let Some(prepared) = account.prepared.get(&f.transfer_id).filter(|p| {
        p.coordinator_type == f.coordinator_type
            && p.coordinator_id == f.coordinator_id
            && p.coordinator_request_id == f.coordinator_request_id
    }) else {
        return Decision::nothing();
    };
    let Some(update) = account.update.as_ref() else { return Decision::nothing() };
    let status = if f.committed_amount == 0 {
        OK
    } else if now > prepared.deadline {
        TIMEOUT
    } else if update.last_interest_rate_change_ts > prepared.final_interest_rate_ts {
        NEWER_INTEREST_RATE
    } else if i128::from(f.committed_amount)
        <= spendable(account, f.creditor_id, now) + i128::from(prepared.locked_amount)
    {
        OK
    } else {
        INSUFFICIENT_AVAILABLE_AMOUNT
    };
    let committed = if status == OK { f.committed_amount } else { 0 };
    let mut events = vec![LedgerEvent::FinalizedTransfer(FinalizedTransfer {
        debtor_id: f.debtor_id,
        creditor_id: f.creditor_id,
        transfer_id: f.transfer_id,
        coordinator_type: f.coordinator_type.clone(),
        coordinator_id: f.coordinator_id,
        coordinator_request_id: f.coordinator_request_id,
        committed_amount: committed,
        status_code: status.into(),
        total_locked_amount: account.total_locked_amount - prepared.locked_amount,
        prepared_at: prepared.prepared_at,
        ts: now,
    })];
    let mut commands = Vec::new();
    if committed > 0 {
        let recipient = parse_creditor(&prepared.recipient).unwrap_or(ROOT_CREDITOR_ID);
        let change = Change {
            delta: -committed,
            coordinator_type: &f.coordinator_type,
            sender: f.creditor_id,
            recipient,
            note: &f.transfer_note,
            note_format: &f.transfer_note_format,
            committed_at: now,
        };
        events.extend(principal_changed(account, f.debtor_id, f.creditor_id, &change, 0.0, now));
        commands.push((
            account_key(f.debtor_id, recipient),
            LedgerCommand::PendingBalanceChange(PendingBalanceChange {
                debtor_id: f.debtor_id,
                creditor_id: recipient,
                change_id: f.transfer_id,
                coordinator_type: f.coordinator_type.clone(),
                transfer_note_format: f.transfer_note_format.clone(),
                transfer_note: f.transfer_note.clone(),
                committed_at: now,
                principal_delta: committed,
                other_creditor_id: f.creditor_id,
            }),
        ));
    }
    Decision::with_commands(events, commands)
}

fn change_balance(account: &Account, c: &PendingBalanceChange, now: i64) -> LedgerDecision {
    if account.applied_changes.contains(&(c.other_creditor_id, c.change_id)) {
        return Decision::nothing();
    }
    let change = Change {
        delta: c.principal_delta,
        coordinator_type: &c.coordinator_type,
        sender: c.other_creditor_id,
        recipient: c.creditor_id,
        note: &c.transfer_note,
        note_format: &c.transfer_note_format,
        committed_at: c.committed_at,
    };
    let mut events = vec![LedgerEvent::BalanceChanged(BalanceChanged {
        debtor_id: c.debtor_id,
        creditor_id: c.creditor_id,
        change_id: c.change_id,
        other_creditor_id: c.other_creditor_id,
        principal_delta: c.principal_delta,
        coordinator_type: c.coordinator_type.clone(),
        committed_at: c.committed_at,
        ts: now,
    })];
    // Money is never left in flight: an account that is missing (or deleted) receives it.
    events.extend(principal_changed(account, c.debtor_id, c.creditor_id, &change, 0.0, now));
    Decision::events(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_pending_transfers_are_refused_before_the_later_checks() {
        let update = next_update(&Account::default(), 1, 5, 0);
        let mut account = Account { update: Some(update), ..Account::default() };
        let prepare = PrepareTransfer {
            debtor_id: 1,
            creditor_id: 5,
            coordinator_type: "direct".into(),
            coordinator_id: 5,
            coordinator_request_id: 1,
            min_locked_amount: 100,
            max_locked_amount: 100,
            recipient: "5".into(),
            final_interest_rate_ts: i64::MAX,
            max_commit_delay: 0,
            ts: 0,
        };
        let request = Request::from(&prepare);
        let status = |decision: LedgerDecision| match decision.events.as_slice() {
            [LedgerEvent::RejectedTransfer(r)] => r.status_code.clone(),
            other => panic!("{other:?}"),
        };
        // Same account and no money: RECIPIENT_SAME_AS_SENDER while under the limit ...
        assert_eq!(status(settle(&account, &request, 5, true, 0, 1)), RECIPIENT_SAME_AS_SENDER);
        // ... TOO_MANY_TRANSFERS once the limit is reached.
        let pending = PreparedTransfer {
            debtor_id: 1,
            creditor_id: 5,
            transfer_id: 9,
            coordinator_type: "direct".into(),
            coordinator_id: 5,
            coordinator_request_id: 0,
            locked_amount: 0,
            recipient: "6".into(),
            prepared_at: 0,
            demurrage_rate: DEMURRAGE_RATE,
            deadline: 1,
            final_interest_rate_ts: i64::MAX,
            ts: 0,
        };
        account.apply(&LedgerEvent::PreparedTransfer(pending));
        assert_eq!(status(settle(&account, &request, 5, true, 0, 1)), TOO_MANY_TRANSFERS);
        // ... and an unreachable sender before everything.
        account.deleted = true;
        assert_eq!(status(settle(&account, &request, 5, true, 0, 1)), SENDER_IS_UNREACHABLE);
    }
}
