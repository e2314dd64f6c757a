//! Where a domain lives. In production the ledger's topics are `ledger.commands|events|state`,
//! its read models are in Postgres schema `ledger` and its dead letters go to
//! `platform.dead-letters`; a test or a benchmark puts the same domain under a prefix of its own
//! (`t123-ledger.commands`, schema `t123-ledger`, `t123-ledger.dead-letters`) so that runs never
//! share a topic or a table.

use clio_projection::plugged::Projection;
use clio_projection::projector::ProjectorConfig;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::dead_letter;
use clio_runtime::processor::{ProcessorConfig, ProcessorTopics};

/// The names of one domain's topics, consumer groups and read-model schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    domain: &'static str,
    prefix: String,
    dead_letters: String,
}

impl Home {
    /// The domain under its own name, as `clio up` runs it.
    pub fn production(domain: &'static str) -> Self {
        Self { domain, prefix: domain.to_string(), dead_letters: dead_letter::TOPIC.to_string() }
    }

    /// The domain under `prefix`, with a dead-letter topic of its own.
    pub fn prefixed(domain: &'static str, prefix: &str) -> Self {
        Self { domain, prefix: prefix.to_string(), dead_letters: format!("{prefix}.dead-letters") }
    }

    pub fn domain(&self) -> &'static str {
        self.domain
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn dead_letters(&self) -> &str {
        &self.dead_letters
    }

    /// A name of the domain's (a topic `ledger.events`, a schema `ledger`) as it is here;
    /// other names (another domain's topic) stay as they are.
    pub fn rename(&self, name: &str) -> String {
        if name == dead_letter::TOPIC {
            return self.dead_letters.clone();
        }
        match name.strip_prefix(self.domain) {
            Some(rest) if rest.is_empty() || rest.starts_with('.') => format!("{}{rest}", self.prefix),
            _ => name.to_string(),
        }
    }

    /// The domain's topic with this suffix (`commands`, `events`, `state`).
    pub fn topic(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.prefix)
    }

    /// The Postgres schema of the read model named after the domain.
    pub fn schema(&self) -> String {
        self.prefix.clone()
    }

    /// The processor's topics and consumer group.
    pub fn processor_config(&self) -> ProcessorConfig {
        let topics = ProcessorTopics {
            commands: self.topic("commands"),
            events: self.topic("events"),
            state: self.topic("state"),
            dead_letters: self.dead_letters.clone(),
        };
        ProcessorConfig { topics, ..ProcessorConfig::for_domain(&self.prefix) }
    }

    /// A read model's projector settings here: its schema, topics and group renamed.
    pub fn projector_config(&self, model: &dyn Projection) -> ProjectorConfig {
        let topics: Vec<String> = model.topics().iter().map(|topic| self.rename(topic)).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut config = ProjectorConfig::new(&self.rename(model.name()), &topics);
        config.dead_letters = self.dead_letters.clone();
        config
    }

    /// The domain's part of `catalogue` (its topics and the dead-letter topic), renamed.
    pub fn catalogue(&self, catalogue: &Catalogue) -> Catalogue {
        let own = format!("{}.", self.domain);
        let mut topics: Vec<_> = catalogue
            .topics
            .iter()
            .filter(|topic| topic.name.starts_with(&own) || topic.name == dead_letter::TOPIC)
            .cloned()
            .collect();
        for topic in &mut topics {
            topic.name = self.rename(&topic.name);
        }
        Catalogue { dir: catalogue.dir.clone(), topics, schemas: catalogue.schemas.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::Home;

    #[test]
    fn production_names_are_the_domains_own() {
        let home = Home::production("ledger");
        assert_eq!(home.rename("ledger.events"), "ledger.events");
        assert_eq!(home.rename("platform.dead-letters"), "platform.dead-letters");
        let config = home.processor_config();
        assert_eq!(config.topics.commands, "ledger.commands");
        assert_eq!(config.group_id, "clio-ledger-processor");
    }

    #[test]
    fn a_prefix_renames_only_the_domains_names() {
        let home = Home::prefixed("ledger", "t1-ledger");
        assert_eq!(home.rename("ledger"), "t1-ledger");
        assert_eq!(home.rename("ledger.events"), "t1-ledger.events");
        assert_eq!(home.rename("ledgers.events"), "ledgers.events");
        assert_eq!(home.rename("retry.commands"), "retry.commands");
        assert_eq!(home.rename("platform.dead-letters"), "t1-ledger.dead-letters");
        assert_eq!(home.processor_config().topics.state, "t1-ledger.state");
    }
}
