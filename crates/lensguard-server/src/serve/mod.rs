//! `lensguard serve`: the HTTPS gateway service.
//!
//! Start-up order, each step refusing to go on if it fails: configuration, data
//! directory (mode 0700), TLS, the audit log, the database, the evidence vault
//! (its keys reachable: no HSM, no service), then a `service.start` audit event
//! carrying the effective security settings (fail closed: a service that cannot
//! audit does not start), then the listener. SIGINT or SIGTERM drains in-flight
//! requests for the grace period, then records `service.stop`.

pub(crate) mod audit_api;
mod audit_search;
mod auth;
mod bootstrap;
mod cameras;
mod cases;
mod connections;
mod console;
mod events;
mod evidence;
mod footage;
mod hsts_guard;
mod http;
mod identity;
mod inspections;
mod live;
mod maintenance;
mod openapi;
mod outbox;
mod overrides;
mod paging;
mod plain_http;
mod policy_api;
mod refusal_flood;
mod refusals;
mod scim;
pub(crate) mod settings;
mod slow_body;
mod state;
mod submission;
pub(crate) mod tls;

pub use policy_api::load as load_policy;
pub use policy_api::{FILE as POLICY_FILE, load as stored_policy};
pub use settings::{camera_masks, vault_config};

use crate::cli::ServeArgs;
use anyhow::Context;
use lensguard_core::config::ServerConfig;
use lensguard_store::audit::AuditEvent;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let cfg = settings::resolve(&args)?;
    let runtime = crate::common::runtime::multi_thread()?;
    match runtime.block_on(serve(cfg))? {
        Ending::Exit(code) => Ok(code),
        Ending::Restart => {
            drop(runtime);
            restart_in_place()
        }
    }
}

/// How the service ended.
enum Ending {
    /// Stopped (a signal), with this exit status.
    Exit(ExitCode),
    /// Drained to load a model release a round of updates activated.
    Restart,
}

/// Runs this program again with the same arguments in this process (the
/// same process id, so a supervisor sees no exit); returns only if that
/// fails. Every file and socket the service had is closed on exec.
fn restart_in_place() -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("cannot find this program to restart it")?;
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(anyhow::anyhow!(
        "cannot restart in place ({error}); start the service again to load the activated model release"
    ))
}

fn security_summary(cfg: &ServerConfig, tls: &tls::Tls) -> String {
    let dangerous = cfg.dangerous();
    format!(
        "tls=1.3 preferred, 1.2 minimum; suites=AEAD only; certificate={} sha256={}; client-certificates={}; hsts={}; header-read-timeout={}s; dangerous={}",
        tls.source,
        tls.fingerprint,
        if cfg.client_ca.is_some() {
            "required"
        } else {
            "off"
        },
        cfg.hsts_max_age
            .map_or("off".to_owned(), |a| format!("max-age={a}")),
        cfg.header_read_timeout.as_secs(),
        if dangerous.is_empty() {
            "none".to_owned()
        } else {
            dangerous.join(",")
        }
    )
}

/// Streams one HTTP/2 connection may have open at once.
const MAX_HTTP2_STREAMS: u32 = 64;

async fn serve(cfg: ServerConfig) -> anyhow::Result<Ending> {
    let stop_requested = crate::common::shutdown::signal()?;
    // Everything that can be refused without touching the data directory is
    // checked first: a bad policy file or a busy port creates nothing.
    let policy = policy_api::load(&cfg.data_dir)?;
    let link = crate::edge::link::HubLink::load(&cfg.data_dir)?;
    let listener = std::net::TcpListener::bind(cfg.listen)
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    crate::data_dir::create(&cfg.data_dir)?;
    crate::data_dir::tighten(&cfg.data_dir)?;
    let tls = tls::load(&cfg)?;
    for option in cfg.dangerous() {
        eprintln!("lensguard: WARNING: dangerous option in force: {option}");
    }
    let secrets = std::sync::Arc::new(
        lensguard_store::secrets::InstallationSecrets::load_or_create(&cfg.data_dir)
            .context("cannot load the installation key")?,
    );
    let db = lensguard_store::db::Db::open(&cfg.data_dir.join(crate::data_dir::DATABASE))
        .await
        .context("cannot open the database")?;
    let witnesses: Vec<Box<dyn lensguard_store::audit::Witness>> = cfg
        .audit
        .checkpoint_file
        .iter()
        .map(|f| {
            Box::new(lensguard_store::audit::FileWitness::new(f))
                as Box<dyn lensguard_store::audit::Witness>
        })
        .collect();
    let audit = std::sync::Arc::new(
        crate::audit_open::open(
            &cfg.data_dir,
            &db,
            if cfg.audit.signing_in_token {
                crate::audit_open::TokenRef::of_vault(&cfg.vault.keys)
            } else {
                None
            }
            .as_ref(),
            witnesses,
        )
        .await
        .context("cannot open the audit log; refusing to start")?
        .with_pseudonyms(secrets.pseudonyms().clone()),
    );
    let (vault, vault_keys, key_beside_data) = crate::vault_keys::open(
        &cfg.vault,
        &cfg.data_dir,
        &db,
        std::sync::Arc::clone(&audit),
    )
    .await?;
    if key_beside_data {
        eprintln!(
            "lensguard: WARNING: the vault's master key is a file beside the data it protects; \
             set [vault] master_key_file on another volume, LENSGUARD_MASTER_KEY, or a PKCS#11 token"
        );
    }
    if link.is_some() {
        vault.forward_receipts_to_outbox();
    }
    let vault = std::sync::Arc::new(vault);
    let models_dir = cfg
        .models_dir
        .clone()
        .unwrap_or_else(crate::detection::default_models_dir);
    let with_cameras = !cfg.cameras.is_empty();
    // Updated models: each start counts against a release on trial, and
    // one that used up its starts is switched back before it loads.
    let updates = crate::model_updates::service::on_start(&cfg.data_dir, &audit);
    let on_trial = updates.active.iter().any(|(_, trial)| *trial);
    let models_dir_for_updates = models_dir.clone();
    let for_detectors = updates.for_detectors();
    let loaded = tokio::task::spawn_blocking(move || {
        crate::detection::load_all_with(&models_dir, with_cameras, &for_detectors)
    })
    .await
    .context("cannot load the models")?;
    for (detector, why) in &loaded.refused {
        crate::model_updates::service::refused_at_load(
            &cfg.data_dir,
            &audit,
            &updates,
            detector,
            why,
        );
    }
    if on_trial {
        tokio::spawn(crate::model_updates::service::confirm_after(
            cfg.data_dir.clone(),
            std::sync::Arc::clone(&audit),
            crate::model_updates::service::trial_period(),
        ));
    }
    let (detectors, on_tract, objects) = (loaded.detectors, loaded.on_tract, loaded.objects);
    if let (true, Err(why)) = (with_cameras, &objects) {
        eprintln!("lensguard: WARNING: {why}");
    }
    if let Some(why) = &on_tract {
        eprintln!("lensguard: note: {why}");
    }
    let missing = crate::detection::problems(&detectors);
    for problem in &missing {
        eprintln!("lensguard: WARNING: {problem}; redacted derivatives will be withheld");
    }
    let summary = format!(
        "{}; vault keys: {vault_keys}; hub: {}; models {}",
        security_summary(&cfg, &tls),
        link.as_ref().map_or(
            "none (air-gapped: no outbound connections)".to_owned(),
            |l| l.destination()
        ),
        if missing.is_empty() {
            format!("loaded ({})", crate::detection::runtimes(&detectors))
        } else {
            "MISSING (derivatives withheld)".to_owned()
        }
    );
    let start = AuditEvent::new(time::OffsetDateTime::now_utc(), "system", "service.start")
        .target(format!("https://{}", cfg.listen))
        .outcome(
            lensguard_store::audit::Outcome::Success,
            Some(summary.clone()),
        );
    audit
        .append(start)
        .context("cannot write the audit log; refusing to start")?;

    let handle = axum_server::Handle::new();
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
        axum_server::tls_rustls::RustlsConfig::from_config(tls.config),
    )
    .acceptor(plain_http::PlainHttpHint {
        wait: cfg.header_read_timeout,
    });
    let acceptor = hsts_guard::HstsAcceptor {
        inner: acceptor,
        line: cfg.hsts_max_age.map(|a| {
            format!("strict-transport-security: max-age={a}; includeSubDomains\r\n").into_bytes()
        }),
    };
    let acceptor = connections::LimitedAcceptor {
        inner: acceptor,
        limits: connections::ConnectionLimits::new(cfg.connections.max, cfg.connections.per_client),
        idle: cfg.connections.idle,
    };
    let mut server = axum_server::from_tcp(listener)
        .context("cannot use the listener")?
        .acceptor(acceptor)
        .handle(handle.clone())
        .first_request_timeout(cfg.header_read_timeout);
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout);
    // One HTTP/2 connection may not open streams without bound.
    server
        .http_builder()
        .http2()
        .max_concurrent_streams(MAX_HTTP2_STREAMS)
        .max_pending_accept_reset_streams(MAX_HTTP2_STREAMS as usize);
    let intake = std::sync::Arc::new(crate::intake::Intake::new(
        db.clone(),
        std::sync::Arc::clone(&audit),
        std::sync::Arc::clone(&vault),
        policy,
        lensguard_core::Limits::default(),
        std::sync::Arc::new(detectors),
        crate::intake::DecodeQueue::new(cfg.inspections.0, cfg.inspections.1),
        crate::intake::Outbox {
            queue_for_hub: link.is_some(),
            limits: lensguard_store::db::OutboxLimits {
                max_entries: cfg.delivery.max_records,
                max_bytes: cfg.delivery.max_bytes,
            },
            metrics: std::sync::Arc::new(crate::metrics::EdgeMetrics::new()),
            wake: std::sync::Arc::new(tokio::sync::Notify::new()),
        },
    ));
    let sources = crate::sources::start(&cfg.folders, &cfg.cameras, &objects, &intake)?;
    let state = state::AppState {
        db: db.clone(),
        audit: std::sync::Arc::clone(&audit),
        secrets,
        data_dir: std::sync::Arc::new(cfg.data_dir.clone()),
        logins: std::sync::Arc::new(state::LoginLimits::new(cfg.login_attempts_per_minute)),
        trusted_proxies: std::sync::Arc::new(cfg.trusted_proxies.clone()),
        session_lifetime: cfg.session_lifetime,
        key_rotation_overlap: cfg.key_rotation_overlap,
        rate: std::sync::Arc::new(state::limiter(cfg.rate_limit.0, cfg.rate_limit.1)),
        vault: std::sync::Arc::clone(&vault),
        rewrap_soon: std::sync::Arc::new(tokio::sync::Notify::new()),
        refusals: std::sync::Arc::new(refusal_flood::RefusalLimits::new(
            cfg.refusals.0,
            cfg.refusals.1,
        )),
        intake: std::sync::Arc::clone(&intake),
        cameras: std::sync::Arc::clone(&sources.cameras),
        console: std::sync::Arc::new(console::ConsoleState::new(cfg.console_idle)),
        sso: match &cfg.sso {
            Some(sso) => Some(std::sync::Arc::new(console::sso::SsoState::new(
                sso.clone(),
            )?)),
            None => None,
        },
        scim: scim::ScimState::for_config(cfg.sso.as_ref()),
    };
    // Only an enrolled edge delivers; an air-gapped one starts no task that
    // could connect anywhere.
    let mut sinks = crate::sinks::Sinks::default();
    let reload = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(link) = link {
        tokio::spawn(
            crate::edge::model_sync::ModelSync {
                reload: std::sync::Arc::clone(&reload),
                data_dir: cfg.data_dir.clone(),
                models_dir: models_dir_for_updates,
                link: link.clone(),
                audit: std::sync::Arc::clone(&audit),
                loaded: updates.clone(),
                every: cfg.delivery.model_check,
                timeout: cfg.delivery.request_timeout,
            }
            .run(),
        );
        let client = crate::fleet::client::HubClient::new(
            "the hub",
            &link.url,
            link.client_config()?,
            cfg.delivery.request_timeout,
        )?;
        let delivery = crate::edge::delivery::Delivery {
            db: db.clone(),
            audit: std::sync::Arc::clone(&audit),
            link,
            config: cfg.delivery,
            metrics: std::sync::Arc::clone(&intake.outbox.metrics),
            wake: std::sync::Arc::clone(&intake.outbox.wake),
        };
        sinks.spawn(crate::edge::delivery::HubSink::new(delivery, client));
    }
    if let Some(siem) = &cfg.siem {
        sinks.spawn(crate::siem::Exporter::new(siem.clone(), &cfg.data_dir)?);
    }
    let upkeep = tokio::spawn(maintenance::run(state.clone(), cfg.vault.clone()));
    let janitor = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                state.forget_idle_limits();
                state.refusals.flush(&state.audit).await;
            }
        })
    };
    let refusals = std::sync::Arc::clone(&state.refusals);
    let app = http::router(
        state,
        cfg.hsts_max_age,
        slow_body::BodyRate {
            grace: cfg.header_read_timeout,
            min_bytes_per_second: cfg.connections.body_min_bytes_per_second,
        },
    );
    let serving = tokio::spawn(
        server.serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>()),
    );
    let Some(addr) = handle.listening().await else {
        let why = match serving.await {
            Ok(Err(e)) => e.to_string(),
            _ => "the listener stopped".to_owned(),
        };
        anyhow::bail!("cannot listen on {}: {why}", cfg.listen);
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "lensguard listening on https://{addr}")?;
        writeln!(out, "security: {summary}")?;
        out.flush()?;
    }
    bootstrap::offer(&db, &audit, &cfg.data_dir).await?;
    let restarting = tokio::select! {
        () = stop_requested => false,
        () = reload.notified() => true,
    };
    eprintln!(
        "lensguard: {}, draining requests for up to {} s",
        if restarting {
            "restarting in place to load the model release just activated"
        } else {
            "shutting down"
        },
        cfg.shutdown_grace.as_secs()
    );
    handle.graceful_shutdown(Some(cfg.shutdown_grace));
    let served = serving.await;
    sources.drain(cfg.shutdown_grace).await;
    janitor.abort();
    upkeep.abort();
    sinks.drain(cfg.shutdown_grace).await;
    refusals.flush(&audit).await;
    let mut stop = AuditEvent::new(time::OffsetDateTime::now_utc(), "system", "service.stop")
        .target(format!("https://{addr}"));
    if restarting {
        stop = stop.outcome(
            lensguard_store::audit::Outcome::Success,
            Some("restarting in place to load an activated model release".to_owned()),
        );
    }
    audit
        .append(stop)
        .context("cannot write the audit log at shutdown")?;
    match served {
        Ok(Ok(())) if restarting => Ok(Ending::Restart),
        Ok(Ok(())) => Ok(Ending::Exit(ExitCode::SUCCESS)),
        Ok(Err(e)) => Err(anyhow::anyhow!("the server failed: {e}")),
        Err(e) => Err(anyhow::anyhow!("the server task failed: {e}")),
    }
}
