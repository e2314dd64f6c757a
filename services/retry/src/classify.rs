//! Error classes, named explicitly: what a failed run was, so a policy can decide whether and
//! when to run it again. Every response and transport error maps to exactly one class by a
//! table, never by which exception type happened to bubble up (the seed's defect); a class name
//! the domain does not know is the explicit `unknown`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// No response: connection refused or reset, DNS, TLS.
    Transport,
    /// No response in time (the handler's timeout, or a run the worker never reported).
    Timeout,
    /// 429 Too Many Requests.
    #[serde(rename = "http_429")]
    Http429,
    /// Any 5xx.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// Any other 4xx: the request itself is wrong.
    #[serde(rename = "http_4xx")]
    Http4xx,
    /// The other side is not ready yet (a poll that found nothing).
    NotReady,
    /// Midas agent errors (`app/exceptions.py`), with their codes.
    LoginFailed,
    IpBlocked,
    NotFound,
    NotSent,
    EndSiteDown,
    ServiceConnection,
    RetryLimitReached,
    AccountAlreadyExists,
    WeakPassword,
    /// A WAITING task's callback did not come before its deadline.
    CallbackDeadline,
    /// A callback reported an error.
    CallbackError,
    /// Anything a handler could not classify.
    Unknown,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 18] = [
        Self::Transport,
        Self::Timeout,
        Self::Http429,
        Self::Http5xx,
        Self::Http4xx,
        Self::NotReady,
        Self::LoginFailed,
        Self::IpBlocked,
        Self::NotFound,
        Self::NotSent,
        Self::EndSiteDown,
        Self::ServiceConnection,
        Self::RetryLimitReached,
        Self::AccountAlreadyExists,
        Self::WeakPassword,
        Self::CallbackDeadline,
        Self::CallbackError,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Http429 => "http_429",
            Self::Http5xx => "http_5xx",
            Self::Http4xx => "http_4xx",
            Self::NotReady => "not_ready",
            Self::LoginFailed => "login_failed",
            Self::IpBlocked => "ip_blocked",
            Self::NotFound => "not_found",
            Self::NotSent => "not_sent",
            Self::EndSiteDown => "end_site_down",
            Self::ServiceConnection => "service_connection",
            Self::RetryLimitReached => "retry_limit_reached",
            Self::AccountAlreadyExists => "account_already_exists",
            Self::WeakPassword => "weak_password",
            Self::CallbackDeadline => "callback_deadline",
            Self::CallbackError => "callback_error",
            Self::Unknown => "unknown",
        }
    }

    /// The class a report names; a name the domain does not know is `unknown`.
    pub fn parse(name: &str) -> Self {
        Self::ALL.into_iter().find(|class| class.as_str() == name).unwrap_or(Self::Unknown)
    }

    /// The Midas error code of an agent class (`app/exceptions.py`), as the seed reports it.
    pub fn midas_code(self) -> Option<u16> {
        Some(match self {
            Self::LoginFailed => 403,
            Self::IpBlocked => 531,
            Self::NotFound => 530,
            Self::NotSent => 535,
            Self::EndSiteDown => 530,
            Self::ServiceConnection => 537,
            Self::RetryLimitReached => 429,
            Self::AccountAlreadyExists => 445,
            Self::WeakPassword => 905,
            Self::Unknown => 520,
            _ => return None,
        })
    }
}

/// A generic HTTP call's outcome: `None` is no response at all (transport), `timed_out` a call
/// that ran out of time.
pub fn classify_http(status: Option<u16>, timed_out: bool) -> Option<ErrorClass> {
    match status {
        None if timed_out => Some(ErrorClass::Timeout),
        None => Some(ErrorClass::Transport),
        Some(200..=399) => None,
        Some(429) => Some(ErrorClass::Http429),
        Some(500..=599) => Some(ErrorClass::Http5xx),
        Some(_) => Some(ErrorClass::Http4xx),
    }
}

/// Midas's agent mapping (`base.py::check_response_for_errors` / `make_request`): 401 → login
/// failed, 403 → IP blocked, 404 → not found (not retried), 503 and 504 → not sent, every other
/// status from 400 (429 included) → end site down; no response or a timeout → end site down.
pub fn classify_midas(status: Option<u16>) -> Option<ErrorClass> {
    match status {
        None => Some(ErrorClass::EndSiteDown),
        Some(200..=399) => None,
        Some(401) => Some(ErrorClass::LoginFailed),
        Some(403) => Some(ErrorClass::IpBlocked),
        Some(404) => Some(ErrorClass::NotFound),
        Some(503 | 504) => Some(ErrorClass::NotSent),
        Some(_) => Some(ErrorClass::EndSiteDown),
    }
}

/// The join status Midas reports to the caller when a join fails for good
/// (`scheme_account.py::update_pending_join_account`): 445 account already exists, 905 weak
/// password, else 902 (registration failed: the card is kept) when the credentials hold a card
/// number or barcode, 901 (enrolment failed) otherwise.
pub fn midas_join_failure_status(class: ErrorClass, credentials: &serde_json::Value) -> u16 {
    match class {
        ErrorClass::AccountAlreadyExists => 445,
        ErrorClass::WeakPassword => 905,
        _ if ["card_number", "barcode"].iter().any(|k| credentials.get(k).is_some_and(|v| !v.is_null())) => 902,
        _ => 901,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_reads_back_from_its_name_and_a_stranger_is_unknown() {
        for class in ErrorClass::ALL {
            assert_eq!(ErrorClass::parse(class.as_str()), class);
            let json = serde_json::to_string(&class).expect("json");
            assert_eq!(json, format!("\"{}\"", class.as_str()));
        }
        assert_eq!(ErrorClass::parse("KeyError"), ErrorClass::Unknown);
        assert_eq!(ErrorClass::parse(""), ErrorClass::Unknown);
    }

    /// retry-midas-source.md §7, row by row.
    #[test]
    fn midas_maps_each_status_as_the_seed_does() {
        let rows: [(Option<u16>, Option<ErrorClass>, Option<u16>); 11] = [
            (Some(200), None, None),
            (Some(401), Some(ErrorClass::LoginFailed), Some(403)),
            (Some(403), Some(ErrorClass::IpBlocked), Some(531)),
            (Some(404), Some(ErrorClass::NotFound), Some(530)),
            (Some(503), Some(ErrorClass::NotSent), Some(535)),
            (Some(504), Some(ErrorClass::NotSent), Some(535)),
            (Some(400), Some(ErrorClass::EndSiteDown), Some(530)),
            (Some(429), Some(ErrorClass::EndSiteDown), Some(530)),
            (Some(500), Some(ErrorClass::EndSiteDown), Some(530)),
            (Some(502), Some(ErrorClass::EndSiteDown), Some(530)),
            (None, Some(ErrorClass::EndSiteDown), Some(530)),
        ];
        for (status, class, code) in rows {
            assert_eq!(classify_midas(status), class, "{status:?}");
            assert_eq!(class.and_then(ErrorClass::midas_code), code, "{status:?}");
        }
    }

    #[test]
    fn a_generic_call_is_classified_by_status_family() {
        assert_eq!(classify_http(Some(204), false), None);
        assert_eq!(classify_http(Some(301), false), None);
        assert_eq!(classify_http(Some(429), false), Some(ErrorClass::Http429));
        assert_eq!(classify_http(Some(503), false), Some(ErrorClass::Http5xx));
        assert_eq!(classify_http(Some(409), false), Some(ErrorClass::Http4xx));
        assert_eq!(classify_http(None, false), Some(ErrorClass::Transport));
        assert_eq!(classify_http(None, true), Some(ErrorClass::Timeout));
    }

    #[test]
    fn the_caller_is_told_445_905_902_or_901() {
        let card = serde_json::json!({"card_number": "633174912345678"});
        let none = serde_json::json!({"email": "a@b.c"});
        assert_eq!(midas_join_failure_status(ErrorClass::AccountAlreadyExists, &none), 445);
        assert_eq!(midas_join_failure_status(ErrorClass::WeakPassword, &card), 905);
        assert_eq!(midas_join_failure_status(ErrorClass::EndSiteDown, &card), 902);
        assert_eq!(midas_join_failure_status(ErrorClass::EndSiteDown, &none), 901);
    }

    #[test]
    fn midas_retries_exactly_its_listed_classes_and_a_run_nobody_reported() {
        let policy = crate::policy::TaskTypes::builtin().0["midas_join"].policy.clone();
        let retried: Vec<ErrorClass> =
            ErrorClass::ALL.into_iter().filter(|class| policy.retry_on.contains(class)).collect();
        assert_eq!(
            retried,
            [
                ErrorClass::Timeout,
                ErrorClass::IpBlocked,
                ErrorClass::NotSent,
                ErrorClass::EndSiteDown,
                ErrorClass::ServiceConnection,
                ErrorClass::RetryLimitReached,
                ErrorClass::Unknown
            ]
        );
    }
}
