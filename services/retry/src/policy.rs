//! Task types and their policies, as data (`task-types.toml`), and what a policy decides: which
//! error classes are retried, and after how long.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::ErrorClass;
use crate::task::Status;

const MICROS: f64 = 1_000_000.0;

/// How long to wait before the next run: `base^n × unit_seconds` after the n-th attempt, at
/// most `cap_seconds`, less up to `jitter` of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub base: f64,
    pub unit_seconds: f64,
    pub cap_seconds: f64,
    #[serde(default)]
    pub jitter: f64,
}

impl Backoff {
    /// The delay after `attempts` attempts, with `random` in [0, 1) choosing the jitter.
    pub fn delay_micros(&self, attempts: u32, random: f64) -> i64 {
        let exponent = i32::try_from(attempts).unwrap_or(i32::MAX);
        let seconds = (self.base.powi(exponent) * self.unit_seconds).min(self.cap_seconds).max(0.0);
        let seconds = seconds * (1.0 - self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0));
        (seconds * MICROS) as i64
    }
}

/// What a task runs under. Fixed at creation (in TaskCreated), so replays decide alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub retry_on: Vec<ErrorClass>,
    #[serde(default)]
    pub schedules: BTreeMap<ErrorClass, Backoff>,
    #[serde(default)]
    pub retry_after_cap_seconds: f64,
    pub attempt_timeout_seconds: f64,
    #[serde(default)]
    pub callback_deadline_seconds: f64,
    #[serde(default)]
    pub poll_seconds: f64,
    #[serde(default)]
    pub callback_retries: u32,
    #[serde(default)]
    pub callback_retry_codes: Vec<String>,
    #[serde(default)]
    pub cleanup: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive: Option<Exclusive>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_limit: Option<LoginLimit>,
}

/// At most one task of the type per value of its `keys` parameters runs at a time (the
/// library's exclusive constraint): a run that finds another task holding the value waits
/// `wait_min_seconds..=wait_max_seconds` (whole seconds, chosen at random) and asks again.
/// A task holds the value while IN_PROGRESS, and in the `holding` statuses too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusive {
    pub keys: Vec<String>,
    #[serde(default)]
    pub holding: Vec<String>,
    #[serde(default = "Exclusive::default_wait_min")]
    pub wait_min_seconds: u32,
    #[serde(default = "Exclusive::default_wait_max")]
    pub wait_max_seconds: u32,
}

impl Exclusive {
    fn default_wait_min() -> u32 {
        5
    }

    fn default_wait_max() -> u32 {
        20
    }

    /// How long a blocked run waits, `random` in [0, 1) choosing within the range.
    pub fn wait_micros(&self, random: f64) -> i64 {
        let (low, high) = (self.wait_min_seconds.min(self.wait_max_seconds), self.wait_max_seconds);
        let span = f64::from(high - low + 1);
        let seconds = i64::from(low) + (random.clamp(0.0, 0.999_999) * span) as i64;
        seconds * 1_000_000
    }
}

/// Midas's login limit, per exclusive key value (the agent and account): after `failures`
/// failed logins (runs that failed with a `counted` class) a run is refused without a call, as
/// `retry_limit_reached`, and every refused run locks the account for `lock_seconds` more;
/// when a lock has run out the count starts again. A successful run resets the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginLimit {
    pub failures: u32,
    pub lock_seconds: f64,
    pub counted: Vec<ErrorClass>,
}

impl LoginLimit {
    pub fn lock_micros(&self) -> i64 {
        (self.lock_seconds.max(0.0) * MICROS) as i64
    }
}

/// When a failed run is followed by another, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    RetryAt { at_micros: i64, reason: String },
    Fail { reason: String },
}

impl Policy {
    /// After run number `attempts` failed with `class` at `now`: when to run again, or why not.
    /// `retry_after_micros` is the server's Retry-After, when it gave one; `random` in [0, 1)
    /// chooses the jitter.
    pub fn after_failure(
        &self,
        class: ErrorClass,
        attempts: u32,
        retry_after_micros: Option<i64>,
        now_micros: i64,
        random: f64,
    ) -> Next {
        if !self.retry_on.contains(&class) {
            return Next::Fail { reason: format!("{} is not retried", class.as_str()) };
        }
        if attempts >= self.max_attempts {
            return Next::Fail { reason: format!("{attempts} of {} attempts made", self.max_attempts) };
        }
        let cap = (self.retry_after_cap_seconds * MICROS) as i64;
        if let Some(asked) = retry_after_micros.filter(|_| cap > 0) {
            let delay = asked.clamp(0, cap);
            return Next::RetryAt {
                at_micros: now_micros.saturating_add(delay),
                reason: format!("the server's Retry-After ({} s, at most {} s)", asked / 1_000_000, cap / 1_000_000),
            };
        }
        let (schedule, which) = match self.schedules.get(&class) {
            Some(own) => (own, format!("the {} schedule", class.as_str())),
            None => (&self.backoff, "the backoff".to_string()),
        };
        let delay = schedule.delay_micros(attempts, random);
        Next::RetryAt {
            at_micros: now_micros.saturating_add(delay),
            reason: format!("{which} after attempt {attempts} of {}: {} s", self.max_attempts, delay / 1_000_000),
        }
    }

    /// How long a run may take before it counts as timed out.
    pub fn attempt_timeout_micros(&self) -> i64 {
        (self.attempt_timeout_seconds.max(1.0) * MICROS) as i64
    }

    pub fn callback_deadline_micros(&self) -> i64 {
        (self.callback_deadline_seconds.max(0.0) * MICROS) as i64
    }

    pub fn poll_micros(&self) -> Option<i64> {
        (self.poll_seconds > 0.0).then_some((self.poll_seconds * MICROS) as i64)
    }

    /// Whether a task in `status` keeps its exclusive key value from others.
    pub fn holds_in(&self, status: Status) -> bool {
        status == Status::InProgress
            || self.exclusive.as_ref().is_some_and(|e| e.holding.iter().any(|s| Status::parse(s) == status))
    }

    /// The slot a task of `task_type` with `params` takes while it runs: the entity that
    /// serialises its exclusive key value and counts its failed logins. None: no exclusive keys.
    pub fn slot(&self, task_type: &str, params: &serde_json::Value) -> Result<Option<String>, String> {
        let Some(exclusive) = self.exclusive.as_ref().filter(|e| !e.keys.is_empty()) else { return Ok(None) };
        let mut values = Vec::with_capacity(exclusive.keys.len());
        for key in &exclusive.keys {
            match params.get(key) {
                Some(value) if !value.is_null() => values.push(value.clone()),
                _ => return Err(format!("the exclusive key {key:?} is not among the parameters")),
            }
        }
        Ok(Some(format!("{SLOT_PREFIX}{task_type}:{}", serde_json::Value::Array(values))))
    }

    fn check(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("policy: max_attempts must be at least 1".into());
        }
        if let Some(exclusive) = &self.exclusive {
            let mut seen = std::collections::BTreeSet::new();
            if let Some(twice) = exclusive.keys.iter().find(|key| !seen.insert(*key)) {
                return Err(format!("policy: the exclusive key {twice:?} is named twice"));
            }
            if let Some(status) = exclusive.holding.iter().find(|s| Status::parse(s) == Status::Unknown) {
                return Err(format!("policy: exclusive.holding names {status:?}, which is no status"));
            }
        }
        if self.login_limit.is_some() && self.exclusive.as_ref().is_none_or(|e| e.keys.is_empty()) {
            return Err("policy: a login_limit counts per exclusive key value; name exclusive.keys".into());
        }
        Ok(())
    }
}

/// Slots are entities of the retry domain beside the tasks; their keys start with this, and a
/// task id may not.
pub const SLOT_PREFIX: &str = "exclusive:";

/// A task type: its handler, the parameters it needs, its policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskType {
    pub handler: String,
    #[serde(default)]
    pub required_params: Vec<String>,
    pub policy: Policy,
}

/// Every task type, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTypes(pub BTreeMap<String, TaskType>);

impl TaskTypes {
    /// The types in `task-types.toml` (parsed once).
    pub fn builtin() -> &'static Self {
        static BUILTIN: std::sync::OnceLock<TaskTypes> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(|| {
            Self::parse(include_str!("../task-types.toml")).unwrap_or_else(|error| {
                // The file is part of the source and a test parses it: a build that passed its
                // tests cannot get here.
                panic!("services/retry/task-types.toml: {error}")
            })
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map(Self).map_err(|e| e.to_string())
    }

    /// The type, the handler and the policy a CreateTask asks for, or why it is refused.
    pub fn resolve(&self, task_type: &str, params: &str, overrides: &str) -> Result<(String, Policy), String> {
        let Some(known) = self.0.get(task_type) else {
            let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
            return Err(format!("unknown task type {task_type:?}; the types are {}", names.join(", ")));
        };
        let params: serde_json::Value = serde_json::from_str(params).map_err(|e| format!("params is not JSON: {e}"))?;
        let Some(params) = params.as_object() else { return Err("params must be a JSON object".into()) };
        let missing: Vec<&str> =
            known.required_params.iter().filter(|p| !params.contains_key(*p)).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(format!("a {task_type} task needs the parameters {}", missing.join(", ")));
        }
        let policy = if overrides.trim().is_empty() {
            known.policy.clone()
        } else {
            let overrides: serde_json::Value =
                serde_json::from_str(overrides).map_err(|e| format!("policy is not JSON: {e}"))?;
            let Some(overrides) = overrides.as_object() else { return Err("policy must be a JSON object".into()) };
            let mut merged = serde_json::to_value(&known.policy).map_err(|e| e.to_string())?;
            if let Some(fields) = merged.as_object_mut() {
                fields.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            serde_json::from_value(merged).map_err(|e| format!("policy: {e}"))?
        };
        policy.check()?;
        policy.slot(task_type, &serde_json::Value::Object(params.clone()))?;
        Ok((known.handler.clone(), policy))
    }
}

/// The code of a reason [`TaskTypes::resolve`] gave, for counting rejects by reason.
pub fn refusal_code(reason: &str) -> &'static str {
    if reason.starts_with("unknown task type") {
        "UNKNOWN_TASK_TYPE"
    } else if reason.starts_with("policy") {
        "INVALID_POLICY"
    } else if reason.starts_with("params")
        || reason.contains(" task needs the parameters ")
        || reason.starts_with("the exclusive key")
    {
        "INVALID_PARAMETERS"
    } else {
        "INVALID_TASK"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_of_resolve_has_its_own_code() {
        let types = TaskTypes::builtin();
        let refusal = |task_type: &str, params: &str, policy: &str| {
            let reason = types.resolve(task_type, params, policy).expect_err("a refusal");
            refusal_code(&reason)
        };
        assert_eq!(refusal("no_such_type", "{}", ""), "UNKNOWN_TASK_TYPE");
        assert_eq!(refusal("midas_join", "not json", ""), "INVALID_PARAMETERS");
        assert_eq!(refusal("midas_join", "[1]", ""), "INVALID_PARAMETERS");
        assert_eq!(refusal("midas_join", "{}", ""), "INVALID_PARAMETERS");
        let params = r#"{"scheme": "s", "scheme_account_id": 1, "credentials": {}}"#;
        assert_eq!(refusal("midas_join", params, "not json"), "INVALID_POLICY");
        assert_eq!(refusal("midas_join", params, "[]"), "INVALID_POLICY");
        assert_eq!(refusal("midas_join", params, r#"{"max_attempts": 0}"#), "INVALID_POLICY");
    }

    fn midas() -> Policy {
        TaskTypes::builtin().0["midas_join"].policy.clone()
    }

    #[test]
    fn the_task_types_file_parses() {
        let types = TaskTypes::builtin();
        assert!(types.0.contains_key("http") && types.0.contains_key("midas_join"));
    }

    #[test]
    fn midas_retries_after_3_9_and_27_minutes_then_fails() {
        let policy = midas();
        let minutes = |attempts| match policy.after_failure(ErrorClass::EndSiteDown, attempts, None, 0, 0.5) {
            Next::RetryAt { at_micros, .. } => Some(at_micros / 60_000_000),
            Next::Fail { .. } => None,
        };
        assert_eq!([minutes(1), minutes(2), minutes(3), minutes(4)], [Some(3), Some(9), Some(27), None]);
    }

    #[test]
    fn a_class_outside_retry_on_fails_at_once() {
        let next = midas().after_failure(ErrorClass::NotFound, 1, None, 0, 0.0);
        assert!(matches!(next, Next::Fail { reason } if reason.contains("not_found is not retried")));
    }

    #[test]
    fn each_class_may_have_a_schedule_of_its_own_and_retry_after_wins_up_to_its_cap() {
        let http = TaskTypes::builtin().0["http"].policy.clone();
        let at = |class, retry_after| match http.after_failure(class, 1, retry_after, 0, 0.0) {
            Next::RetryAt { at_micros, .. } => at_micros / 1_000_000,
            Next::Fail { reason } => panic!("{reason}"),
        };
        assert_eq!(at(ErrorClass::Http5xx, None), 60, "2^1 × 30 s");
        assert_eq!(at(ErrorClass::Http429, None), 240, "2^1 × 120 s");
        assert_eq!(at(ErrorClass::Http429, Some(42_000_000)), 42);
        assert_eq!(at(ErrorClass::Http429, Some(86_400_000_000)), 3_600, "capped");
    }

    #[test]
    fn jitter_only_ever_shortens_a_delay_and_the_cap_holds() {
        let backoff = Backoff { base: 2.0, unit_seconds: 10.0, cap_seconds: 100.0, jitter: 0.5 };
        assert_eq!(backoff.delay_micros(1, 0.0), 20_000_000);
        assert_eq!(backoff.delay_micros(1, 0.999_999), 10_000_010);
        assert_eq!(backoff.delay_micros(30, 0.0), 100_000_000);
    }

    #[test]
    fn a_create_is_refused_for_an_unknown_type_missing_parameters_or_a_bad_policy() {
        let types = TaskTypes::builtin();
        assert!(types.resolve("nope", "{}", "").unwrap_err().contains("unknown task type"));
        assert!(types.resolve("http", "[1]", "").unwrap_err().contains("JSON object"));
        assert!(types.resolve("http", r#"{"method":"GET"}"#, "").unwrap_err().contains("url"));
        let ok = r#"{"method":"GET","url":"http://x"}"#;
        assert!(types.resolve("http", ok, r#"{"max_attempts":"many"}"#).unwrap_err().contains("policy"));
        assert!(types.resolve("http", ok, r#"{"max_attempts":0}"#).is_err());
        let (handler, policy) = types.resolve("http", ok, r#"{"max_attempts":2}"#).expect("resolved");
        assert_eq!((handler.as_str(), policy.max_attempts), ("http", 2));
    }
}
