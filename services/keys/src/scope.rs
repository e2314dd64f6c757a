//! What a key may do: scopes as `action:target`, and which held scope grants which needed one.
//!
//! - `produce:<topic>`, `produce:<domain>` (every topic named `<domain>.…`) or `produce:*`:
//!   `POST /v1/topics/{topic}/records`.
//! - `read:<domain>`: a domain's read models through the gateway.
//! - `write:<domain>`: a domain's own commands through its routes (imports, triggers, onboarding).
//! - `admin:<domain>`: its operator actions (force match, cancel or requeue a task);
//!   `admin:platform` replays dead letters. An admin scope also grants `write:` and `read:` of
//!   its target.
//! - `registry:write`: register, delete and configure schemas.
//! - `*`: everything.
//!
//! The target `*` stands for any target of that action.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// What a scope allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Produce,
    Read,
    Write,
    Admin,
    Registry,
}

impl Action {
    const ALL: [Action; 5] = [Action::Produce, Action::Read, Action::Write, Action::Admin, Action::Registry];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Produce => "produce",
            Action::Read => "read",
            Action::Write => "write",
            Action::Admin => "admin",
            Action::Registry => "registry",
        }
    }
}

/// One scope: everything, or an action on a target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Everything,
    On { action: Action, target: String },
}

impl Scope {
    pub fn new(action: Action, target: impl Into<String>) -> Self {
        Scope::On { action, target: target.into() }
    }

    /// `registry:write`, the one scope of the registry's writes.
    pub fn registry_write() -> Self {
        Scope::new(Action::Registry, "write")
    }

    /// Whether holding `self` allows what `needed` names.
    pub fn grants(&self, needed: &Scope) -> bool {
        let (held_action, held_target, needed_action, needed_target) = match (self, needed) {
            (Scope::Everything, _) => return true,
            (Scope::On { .. }, Scope::Everything) => return false,
            (Scope::On { action: a, target: t }, Scope::On { action: b, target: u }) => (*a, t, *b, u),
        };
        let action_covers = held_action == needed_action
            || (held_action == Action::Admin && matches!(needed_action, Action::Write | Action::Read));
        if !action_covers {
            return false;
        }
        held_target == "*"
            || held_target == needed_target
            // A domain's name covers its topics, `<domain>.commands` and the like.
            || (needed_action == Action::Produce
                && needed_target.strip_prefix(held_target.as_str()).is_some_and(|rest| rest.starts_with('.')))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Everything => f.write_str("*"),
            Scope::On { action, target } => write!(f, "{}:{target}", action.as_str()),
        }
    }
}

impl FromStr for Scope {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        if text == "*" {
            return Ok(Scope::Everything);
        }
        let refuse = |why: &str| Error::BadScope { scope: text.to_string(), reason: why.to_string() };
        let (action, target) = text.split_once(':').ok_or_else(|| refuse("a scope is `action:target` or `*`"))?;
        let action = Action::ALL
            .into_iter()
            .find(|known| known.as_str() == action)
            .ok_or_else(|| refuse("the action is one of produce, read, write, admin, registry"))?;
        let valid_target = !target.is_empty()
            && target.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*'))
            && (target == "*" || !target.contains('*'));
        if !valid_target {
            return Err(refuse("the target is a domain, a topic or `*` (letters, digits, `.`, `_`, `-`)"));
        }
        if action == Action::Registry && target != "write" {
            return Err(refuse("the registry's one scope is `registry:write`"));
        }
        Ok(Scope::new(action, target))
    }
}

/// Scopes separated by commas or spaces, each parsed; at least one.
pub fn parse_list(text: &str) -> Result<Vec<Scope>, Error> {
    let scopes = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Scope>, Error>>()?;
    if scopes.is_empty() {
        return Err(Error::BadScope { scope: text.to_string(), reason: "a key needs at least one scope".to_string() });
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> Scope {
        text.parse().unwrap()
    }

    #[test]
    fn a_domain_covers_its_topics_but_not_a_longer_name() {
        assert!(scope("produce:ledger").grants(&scope("produce:ledger.commands")));
        assert!(scope("produce:ledger.commands").grants(&scope("produce:ledger.commands")));
        assert!(!scope("produce:ledger").grants(&scope("produce:ledgers.commands")));
        assert!(!scope("produce:ledger.commands").grants(&scope("produce:ledger.events")));
    }

    #[test]
    fn admin_covers_write_and_read_of_its_target_only() {
        assert!(scope("admin:matching").grants(&scope("write:matching")));
        assert!(scope("admin:matching").grants(&scope("read:matching")));
        assert!(!scope("admin:matching").grants(&scope("read:ledger")));
        assert!(!scope("admin:matching").grants(&scope("produce:matching.commands")));
        assert!(!scope("write:matching").grants(&scope("admin:matching")));
        assert!(!scope("read:matching").grants(&scope("write:matching")));
    }

    #[test]
    fn a_star_target_covers_every_target_of_its_action() {
        assert!(scope("read:*").grants(&scope("read:orders")));
        assert!(!scope("read:*").grants(&scope("write:orders")));
        assert!(scope("*").grants(&scope("registry:write")));
        assert!(!scope("admin:*").grants(&scope("registry:write")));
    }

    #[test]
    fn bad_scopes_say_why() {
        for bad in ["read", "look:ledger", "read:", "read:led*", "registry:read", "read:a b"] {
            let error = parse_list(bad).unwrap_err().to_string();
            assert!(error.contains("scope"), "{bad}: {error}");
        }
        assert!(parse_list(" , ").is_err());
        assert_eq!(parse_list("read:ledger, admin:retry").unwrap().len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn a_scope_reads_back_as_it_prints(action in 0usize..4, target in "[a-z][a-z0-9._-]{0,20}|\\*") {
            let scope = Scope::new(Action::ALL[action], target);
            proptest::prop_assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope.clone());
            proptest::prop_assert!(scope.grants(&scope));
        }
    }
}
