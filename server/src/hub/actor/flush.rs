//! The hub's one path for every change: refresh the records from the workers, diff them against
//! what clients last saw, commit the deltas, then publish them.

use super::*;

impl Hub {
    /// Pulls every worker's latest status into the session records.
    pub(super) fn refresh(&mut self) {
        if self.stopping {
            return;
        }
        let now = now_iso();
        for (sid, rec) in &mut self.records {
            let mut changed = false;
            for w in &mut rec.session.workers {
                let Some(handle) = rec.handles.get(&w.id) else { continue };
                let st = handle.status().borrow().clone();
                let was_running = w.state == WorkerState::Running;
                if worker_from_status(w, &st) {
                    changed = true;
                    if was_running && st.exit.is_some() {
                        tracing::info!(session_id = %sid, worker_id = %w.id, exit_code = ?w.exit_code,
                            signal = ?w.signal, "worker exited");
                        save_screen(&self.persistence.store, sid, &w.id, handle);
                    }
                }
            }
            if changed {
                rec.session.updated_at.clone_from(&now);
            }
        }
    }

    pub(super) fn current_activity(&self) -> ActivityMap {
        let mut map = ActivityMap::new();
        for (sid, rec) in &self.records {
            for w in &rec.session.workers {
                let activity = if self.stopping {
                    ActivityState::Exited
                } else {
                    rec.handles.get(&w.id).map_or(ActivityState::Unknown, |h| h.status().borrow().activity)
                };
                map.insert((sid.clone(), w.id.clone()), activity);
            }
        }
        map
    }

    /// Diffs what clients last saw against the state now; commits, then broadcasts the deltas.
    pub(super) async fn flush(&mut self) {
        let started = std::time::Instant::now();
        self.refresh();
        let current: SessionMap =
            self.records.iter().map(|(id, r)| (id.clone(), r.session.clone())).collect();
        let activity = self.current_activity();
        let mut events =
            diff::diff(&self.publisher.published, &current, &self.publisher.published_activity, &activity);
        let sources = self.feeds.statuses();
        for (name, status) in &sources {
            // A read that changes nothing but `lastSuccess` is not news: clients see the new
            // time in the next sync or `GET /api/sessions`, not as a delta every poll.
            let same = self.publisher.published_sources.get(name).is_some_and(|p| {
                SourceStatus { last_success: status.last_success.clone(), ..p.clone() } == *status
            });
            if !same {
                events.push(DeltaEvent::SourceUpdated { name: name.clone(), source: status.clone() });
            }
        }
        metrics::histogram!(m::DELTA_COMPUTE_SECONDS).record(started.elapsed().as_secs_f64());
        self.publisher.published_sources = sources;
        if events.is_empty() {
            // Nothing new to write: what the records show is already in the store, unless an
            // earlier commit is still pending.
            if !self.persistence.has_pending() {
                self.ack_committed_exits();
            }
            return;
        }
        record_gauges(&current, &activity);
        let timestamp = now_iso();
        let deltas: Vec<Delta> = events
            .into_iter()
            .map(|event| {
                self.publisher.seq += 1;
                Delta { seq: self.publisher.seq, timestamp: timestamp.clone(), event }
            })
            .collect();
        let mut commit = Commit { deltas: deltas.clone(), ..Commit::default() };
        for (id, session) in &current {
            if self.publisher.published.get(id) != Some(session)
                && let Some(rec) = self.records.get(id)
            {
                commit.upserts.push(StoredSession {
                    session: session.clone(),
                    env: rec.env.clone(),
                    worktree: rec.worktree.clone(),
                });
            }
        }
        commit.deletes =
            self.publisher.published.keys().filter(|id| !current.contains_key(*id)).cloned().collect();
        // Written before broadcast. If the disk refuses, clients still get the truth and the
        // error is logged loudly (serving live state beats hiding it); the commit is retried.
        let committed = self.persistence.persist(commit).await;
        self.publisher.publish(current, activity, deltas, self.config.delta_log);
        if committed {
            self.ack_committed_exits();
        }
    }

    /// Tells the holders of exited workers whose exit the store now has that it is recorded,
    /// so they end. Only after a commit: a gateway that dies before it leaves the exit with the
    /// holder, and the next gateway hears it again (never a `lost` for a real exit code).
    pub(super) fn ack_committed_exits(&self) {
        for rec in self.records.values() {
            for w in rec.session.workers.iter().filter(|w| w.state == WorkerState::Exited) {
                if let Some(h) = rec.handles.get(&w.id)
                    && h.status().borrow().exit_unacked
                {
                    h.ack_exit();
                }
            }
        }
    }
}
