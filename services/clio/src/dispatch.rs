//! Runs one parsed command line: the platform's commands, and `clio <domain> ...` handed to
//! its domain. (The command line's definitions are in [`crate::cli`], which imports none of
//! the handlers.)

use std::sync::Arc;

use clap::{ArgMatches, FromArgMatches as _};
use clio_plug::Domain;

use crate::cli::{Cli, Command, ProjectionsAction, SchemasAction, SeedSettings, TopicsAction};

/// Runs one parsed command line.
pub async fn dispatch(domains: &[Arc<dyn Domain>], matches: ArgMatches) -> anyhow::Result<()> {
    let Some((name, sub)) = matches.subcommand() else { anyhow::bail!("no command given (see clio --help)") };
    if let Some(domain) = domains.iter().find(|domain| domain.name() == name && domain.command().is_some()) {
        return domain.run_command(sub).await;
    }
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        Command::Up(settings) => crate::platform::up(settings, sub, domains).await,
        Command::Run { part, metrics_addr } => {
            let part_matches = sub.subcommand().map(|(_, matches)| matches).unwrap_or(sub);
            crate::platform::run(part, metrics_addr, part_matches, domains).await
        }
        Command::Topics { action: TopicsAction::Create(settings) } => crate::setup::topics_create(&settings).await,
        Command::Topics { action: TopicsAction::List(settings) } => crate::setup::topics_list(&settings),
        Command::Schemas { action: SchemasAction::Register(settings) } => {
            crate::setup::schemas_register(&settings).await
        }
        Command::Produce(settings) => crate::records::produce(settings).await,
        Command::Consume(settings) => crate::records::consume(settings).await,
        Command::Asyncapi(settings) => crate::setup::asyncapi(&settings),
        Command::Seed(settings) => seed(&settings, sub, domains).await,
        Command::Projections { action: ProjectionsAction::Status(settings) } => {
            crate::projections::status(&settings, domains).await
        }
        Command::Projections { action: ProjectionsAction::Rebuild { name, settings } } => {
            crate::projections::rebuild(&name, &settings, domains).await
        }
        Command::Keys { action } => crate::keys::run(action).await,
        Command::Dlq { action } => crate::dlq::run(action).await,
    }
}

/// `clio seed`: every domain's demo data, one after another.
async fn seed(settings: &SeedSettings, matches: &ArgMatches, domains: &[Arc<dyn Domain>]) -> anyhow::Result<()> {
    let resources = clio_plug::Resources {
        pool: settings.database.connect().await?,
        kafka: settings.kafka.clone(),
        codec: settings.registry.codec(),
        shutdown: clio_runtime::shutdown::on_signal(),
    };
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for name in &settings.domains {
        clio_plug::find(domains, name)?;
    }
    let chosen = domains
        .iter()
        .filter(|domain| settings.domains.is_empty() || settings.domains.iter().any(|name| name == domain.name()));
    for domain in chosen {
        if let Some(done) = domain.seed(matches, &resources, progress).await? {
            println!("{done}");
        }
    }
    Ok(())
}
