//! How an account's principal changes, and the AccountUpdate (with its AccountTransfer and
//! AccountStatus) that announces it: shared by the commands' decisions (`decide`) and the
//! clock's (`maintain`).

use crate::account::Account;
use crate::messages::*;
use crate::rules::*;

/// A new AccountUpdate from the account's last one (or a fresh account's), with the change
/// counters moved on and the interest accrued so far settled.
pub(crate) fn next_update(account: &Account, debtor_id: i64, creditor_id: i64, now: i64) -> AccountUpdate {
    match &account.update {
        Some(last) => AccountUpdate {
            interest: account.interest_at(now),
            last_change_ts: last.last_change_ts.max(now),
            last_change_seqnum: last.last_change_seqnum.wrapping_add(1),
            ts: now,
            ..last.clone()
        },
        None => {
            let creation_date = date_of(now);
            AccountUpdate {
                debtor_id,
                creditor_id,
                creation_date,
                last_change_ts: now,
                last_change_seqnum: 0,
                principal: 0,
                interest: 0.0,
                interest_rate: 0.0,
                last_interest_rate_change_ts: 0,
                last_config_ts: 0,
                last_config_seqnum: 0,
                negligible_amount: 0.0,
                config_flags: 0,
                config_data: String::new(),
                account_id: creditor_text(creditor_id),
                debtor_info_iri: String::new(),
                debtor_info_content_type: String::new(),
                debtor_info_sha256: String::new(),
                last_transfer_number: first_number(creation_date),
                last_transfer_committed_at: 0,
                demurrage_rate: DEMURRAGE_RATE,
                commit_period: COMMIT_PERIOD_SECONDS,
                transfer_note_max_bytes: TRANSFER_NOTE_MAX_BYTES as i32,
                ts: now,
                ttl: ACCOUNT_UPDATE_TTL_SECONDS,
            }
        }
    }
}

/// Transfer ids and transfer numbers of an account start at its creation day shifted left
/// by 40 bits, so they never repeat across a deletion and re-creation on a later day.
pub(crate) fn first_number(creation_date: i32) -> i64 {
    i64::from(creation_date) << 40
}

/// One side of a committed transfer.
pub(crate) struct Change<'a> {
    pub delta: i64,
    pub coordinator_type: &'a str,
    pub sender: i64,
    pub recipient: i64,
    pub note: &'a str,
    pub note_format: &'a str,
    pub committed_at: i64,
}

/// The AccountUpdate of a principal change, and its AccountTransfer unless the account is
/// the root account or the amount is negligible; an AccountStatus when the principal had to
/// be clamped for the first time, or when the change brings a deleted account back.
/// `interest_delta` moves accrued interest into the principal (capitalisation).
pub(crate) fn principal_changed(
    account: &Account,
    debtor_id: i64,
    creditor_id: i64,
    change: &Change<'_>,
    interest_delta: f64,
    now: i64,
) -> Vec<LedgerEvent> {
    let mut update = next_update(account, debtor_id, creditor_id, now);
    let (principal, clamped) = add_principal(update.principal, change.delta);
    update.principal = principal;
    update.interest += interest_delta;
    update.last_transfer_number += 1;
    update.last_transfer_committed_at = change.committed_at;
    let negligible =
        change.coordinator_type != "agent" && change.delta > 0 && (change.delta as f64) <= update.negligible_amount;
    let mut events = Vec::new();
    if creditor_id != ROOT_CREDITOR_ID && !negligible {
        events.push(LedgerEvent::AccountTransfer(AccountTransfer {
            debtor_id,
            creditor_id,
            creation_date: update.creation_date,
            transfer_number: update.last_transfer_number,
            coordinator_type: change.coordinator_type.to_string(),
            sender: creditor_text(change.sender),
            recipient: creditor_text(change.recipient),
            acquired_amount: change.delta,
            transfer_note: change.note.to_string(),
            transfer_note_format: change.note_format.to_string(),
            committed_at: change.committed_at,
            principal,
            ts: now,
            previous_transfer_number: account.last_sent_transfer_number,
        }));
    }
    events.insert(0, LedgerEvent::AccountUpdate(update));
    if account.deleted || (clamped && !account.overflown) {
        let status = AccountStatus {
            deleted: false,
            overflown: account.overflown || clamped,
            ..account.status(debtor_id, creditor_id, now)
        };
        events.push(LedgerEvent::AccountStatus(status));
    }
    events
}
