//! Messages of `/ws/app`, the live session-state socket, and the deltas it carries.

use crate::{ActivityEntry, ActivityState, Session, SessionId, SourceStatus, WorkerId};
use serde::{Deserialize, Serialize};

/// One change to the session state, as broadcast and as kept in the delta log.
///
/// `seq` is gateway-wide and strictly increasing; `timestamp` is ISO-8601.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// Position in the gateway's delta log.
    pub seq: u64,
    /// When the gateway produced it (ISO-8601).
    pub timestamp: String,
    /// What changed; its `type` tag sits beside `seq` in the JSON object.
    #[serde(flatten)]
    pub event: DeltaEvent,
}

/// What a delta says changed.
// Built once per change and encoded once per broadcast; boxing the sessions buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum DeltaEvent {
    /// A session appeared.
    SessionCreated {
        /// Its id.
        session_id: SessionId,
        /// The new session.
        session: Session,
    },
    /// Something in a session changed (title, branch, workers, a worker's state).
    SessionUpdated {
        /// Its id.
        session_id: SessionId,
        /// The session now.
        session: Session,
        /// The session before the change.
        before: Session,
    },
    /// A session was deleted.
    SessionDeleted {
        /// Its id.
        session_id: SessionId,
        /// The session as it was.
        before: Session,
    },
    /// A worker's activity changed.
    WorkerActivity {
        /// The worker's session.
        session_id: SessionId,
        /// The worker.
        worker_id: WorkerId,
        /// Its new activity.
        activity_state: ActivityState,
    },
    /// A session source's health changed (it failed, recovered, or its session count changed).
    SourceUpdated {
        /// The source's name.
        name: String,
        /// Its status now.
        source: SourceStatus,
    },
}

impl DeltaEvent {
    /// The `type` tag, for logs and metrics.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::SessionCreated { .. } => "session-created",
            Self::SessionUpdated { .. } => "session-updated",
            Self::SessionDeleted { .. } => "session-deleted",
            Self::WorkerActivity { .. } => "worker-activity",
            Self::SourceUpdated { .. } => "source-updated",
        }
    }

    /// The session the delta concerns; `None` for deltas about no one session.
    pub fn session_id(&self) -> Option<&SessionId> {
        match self {
            Self::SessionCreated { session_id, .. }
            | Self::SessionUpdated { session_id, .. }
            | Self::SessionDeleted { session_id, .. }
            | Self::WorkerActivity { session_id, .. } => Some(session_id),
            Self::SourceUpdated { .. } => None,
        }
    }
}

/// The full state, sent on open and on `request-sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsSync {
    /// Every session.
    pub sessions: Vec<Session>,
    /// Every worker's activity.
    pub activity_states: Vec<ActivityEntry>,
    /// Health of every configured session source (empty when none are configured).
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    /// The seq of the last delta this state includes.
    pub seq: u64,
    /// Identifies the gateway's data; a different epoch means seqs are not comparable.
    pub epoch: String,
    /// When the snapshot was taken (ISO-8601).
    pub timestamp: String,
}

/// The deltas a client missed, in answer to `request-sync` with `since`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// Exactly the deltas after `since`, in order.
    pub deltas: Vec<Delta>,
    /// The seq of the last delta the client now has.
    pub seq: u64,
}

/// Server → client messages on `/ws/app`.
// Deltas dominate traffic and are built once per broadcast; boxing them buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum AppServerMsg {
    /// The full state.
    SessionsSync(SessionsSync),
    /// Missed deltas.
    Replay(Replay),
    /// A message from the client was refused; the connection stays open.
    Error {
        /// Machine-readable code (see `error_code`).
        code: String,
        /// Human-readable explanation.
        message: String,
    },
    /// A live delta.
    #[serde(untagged)]
    Delta(Delta),
}

/// Client → server messages on `/ws/app`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum AppClientMsg {
    /// Ask for the full state, or with `since` for the deltas after that seq.
    RequestSync {
        /// The last seq the client has seen.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
    /// Limit the deltas this connection receives to these sessions (`null`: all of them).
    /// Answered with a `sessions-sync` of what the connection now sees.
    Subscribe {
        /// The sessions to follow, or `null` for every session.
        session_ids: Option<Vec<SessionId>>,
    },
}
