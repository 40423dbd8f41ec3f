//! Starting the hub: the configured sources, and every stored session restored (running workers
//! adopted from their holders, see `restore`).

use super::*;

/// Every configured source, not read yet; an `http` source's URL and CA files are checked here,
/// so a bad `ca-file` stops the gateway at start with the source's name.
pub(super) fn source_states(config: &ServeConfig) -> Result<BTreeMap<String, SourceState>, HubError> {
    let mut states = BTreeMap::new();
    for s in &config.sources {
        let http = match (s.kind, &s.url) {
            (crate::file_config::SourceKind::Http, Some(url)) => Some(
                crate::outbound::http_client::Target::new(url, &config.outbound_cas(s.ca_file.as_deref()))
                    .map_err(|e| HubError::Invalid(format!("source `{}`: {e}", s.name)))?,
            ),
            _ => None,
        };
        let status = SourceStatus {
            name: s.name.clone(),
            kind: s.kind.as_str().into(),
            // Not read yet: neither ok nor failed.
            ok: false,
            error: None,
            last_success: None,
            session_count: 0,
        };
        let state =
            SourceState { section: s.clone(), http, status, in_flight: false, next_due: Instant::now() };
        states.insert(s.name.clone(), state);
    }
    Ok(states)
}

/// Loads the store, restores every session (workers that were running are adopted from their
/// holders, else come back exited with why) and starts the hub task.
pub(crate) async fn start(config: Arc<ServeConfig>, deps: HubDeps) -> Result<HubHandle, HubError> {
    let sources = source_states(&config)?;
    let loaded = deps.store.load(new_epoch()).await?;
    let (tx, rx) = mpsc::channel(HUB_QUEUE);
    let mut records = BTreeMap::new();
    let mut published = SessionMap::new();
    let mut adoptions = super::restore::adopt_all(&deps.ctx, &loaded).await;
    super::restore::stop_strays(&deps.ctx, &loaded);
    for stored in loaded.sessions {
        let session = stored.session;
        if let Some(source) = &session.source
            && !config.sources.iter().any(|s| &s.name == source)
        {
            // Its source is no longer configured: published, not kept, so it goes as deleted.
            published.insert(session.id.clone(), session.clone());
            continue;
        }
        let mut handles = BTreeMap::new();
        for w in &session.workers {
            let handle = super::restore::worker(
                &deps.ctx,
                &config,
                &session.id,
                w,
                &loaded.screens,
                adoptions.remove(&w.id),
            );
            handles.insert(w.id.clone(), handle);
        }
        published.insert(session.id.clone(), session.clone());
        records.insert(
            session.id.clone(),
            Record { session, env: stored.env, handles, worktree: stored.worktree },
        );
    }
    let git = GitReads::default();
    let mut hub = Hub {
        config: config.clone(),
        ctx: deps.ctx,
        tx: tx.clone(),
        records,
        publisher: Publisher {
            epoch: loaded.epoch.clone(),
            seq: loaded.seq,
            published,
            published_activity: ActivityMap::new(),
            published_sources: BTreeMap::new(),
            log: loaded.deltas.into(),
            subscribers: Subscribers::default(),
            notifier: deps.notifier,
        },
        persistence: Persistence::new(deps.store, config.delta_log),
        feeds: Feeds { sources, poll_interval: config.poll_interval, tx: tx.clone() },
        stopping: false,
        git: git.clone(),
        git_stats: crate::worktree::stats::GitStats::default(),
        starting: Default::default(),
    };
    // Workers that were running are now exited: that change goes out (and into the log) at once.
    hub.flush().await;
    tokio::spawn(hub.run(rx));
    Ok(HubHandle { tx, epoch: loaded.epoch, git, worktree: config.worktree.clone() })
}

pub(super) fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}
