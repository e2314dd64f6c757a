//! [`DomainStack`]: any plugged domain on the real broker and Postgres, under a prefix of the
//! test's own: its topics created and schemas registered, its processor and projectors
//! running, and a gateway serving its routes, as `clio up` runs them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clio_plug::{Domain, Home};
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::processor::{ProcessorConfig, ProcessorTopics};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::harness::TestEnv;

/// A domain running for one test.
pub struct DomainStack {
    pub env: TestEnv,
    /// The domain, at the stack's home.
    pub domain: Arc<dyn Domain>,
    pub topics: ProcessorTopics,
    /// The domain's part of the catalogue, as named here.
    pub catalogue: Catalogue,
    pub codec: Codec,
    /// The gateway serving the domain's routes: `http://127.0.0.1:PORT`.
    pub gateway_url: String,
    token: CancellationToken,
    parts: Vec<(String, JoinHandle<anyhow::Result<()>>)>,
}

impl DomainStack {
    /// Starts `domain` under a unique prefix starting with `name`, its topics as in the
    /// catalogue in `schemas`.
    pub async fn start(name: &str, domain: &dyn Domain, schemas: &Path) -> anyhow::Result<Self> {
        Self::start_with(name, domain, schemas, |config| config).await
    }

    /// As [`DomainStack::start`], with the processor's settings adjusted.
    pub async fn start_with(
        name: &str,
        domain: &dyn Domain,
        schemas: &Path,
        adjust: impl FnOnce(ProcessorConfig) -> ProcessorConfig,
    ) -> anyhow::Result<Self> {
        let env = TestEnv::start().await?;
        let home = Home::prefixed(domain.name(), &env.unique(name));
        let domain = domain.at(home.clone());
        let catalogue = Catalogue::load(schemas).with_context(|| format!("the catalogue in {}", schemas.display()))?;
        let catalogue = clio_plug::provision::provision(&env.kafka, &env.registry_url, &catalogue, &home).await?;
        domain.check_records(&catalogue)?;
        let codec = Codec::new(&env.registry_url);
        let token = CancellationToken::new();
        let config = adjust(home.processor_config());
        let topics = config.topics.clone();
        let mut parts = Vec::new();
        let processor = domain.processor(env.kafka.clone(), codec.clone(), config, token.clone());
        parts.push(("processor".to_string(), tokio::spawn(async move { processor.await.map(|_| ()) })));
        for model in domain.read_models() {
            let config = home.projector_config(model.as_ref());
            let name = format!("{} projector", config.name);
            let projector = model.run(env.kafka.clone(), env.pool.clone(), codec.clone(), config, token.clone());
            parts.push((name, tokio::spawn(async move { projector.await.map(|_| ()) })));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let gateway_url = format!("http://{}", listener.local_addr()?);
        let resources = clio_plug::Resources {
            pool: env.pool.clone(),
            kafka: env.kafka.clone(),
            codec: codec.clone(),
            shutdown: token.clone(),
        };
        let routes = clio_plug::routes_of(std::slice::from_ref(&domain), &resources);
        let gateway =
            clio_gateway::Gateway::new(env.pool.clone(), env.kafka.clone(), catalogue.clone(), codec.clone())?
                .with_routes(routes);
        let serving = clio_gateway::serve(listener, gateway, token.clone());
        parts.push(("gateway".to_string(), tokio::spawn(async move { serving.await.map_err(Into::into) })));
        Ok(Self { env, domain, topics, catalogue, codec, gateway_url, token, parts })
    }

    pub fn home(&self) -> &Home {
        self.domain.home()
    }

    /// Starts the domain's clocks and workers as `clio up <args>` would (the domain's own
    /// settings of `clio up`, e.g. `--retry-scheme-url URL`); they stop with the stack.
    pub fn spawn_workers(&mut self, args: &[&str]) -> anyhow::Result<Vec<String>> {
        let up = self.domain.up_args(clap::Command::new("up").no_binary_name(true));
        let matches = up.try_get_matches_from(args).context("the workers' settings")?;
        let resources = clio_plug::Resources {
            pool: self.env.pool.clone(),
            kafka: self.env.kafka.clone(),
            codec: self.codec.clone(),
            shutdown: self.token.clone(),
        };
        let mut names = Vec::new();
        for mut worker in self.domain.workers(&matches, &resources, false)? {
            names.push(worker.name.clone());
            let running = (worker.start)();
            self.parts.push((worker.name, tokio::spawn(running)));
        }
        Ok(names)
    }

    /// Stops every part and checks each stopped cleanly.
    pub async fn stop(self) {
        self.token.cancel();
        for (name, part) in self.parts {
            let stopped = tokio::time::timeout(Duration::from_secs(30), part).await;
            let ran = stopped.unwrap_or_else(|_| panic!("the {name} stops")).expect("joined");
            ran.unwrap_or_else(|error| panic!("the {name} ran cleanly: {error:#}"));
        }
    }
}
