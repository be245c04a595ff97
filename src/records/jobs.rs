//! Bundles built in the background, so the page can show progress for a large file
//! before the download starts. Jobs live in memory (a restart forgets them; the built
//! bundles stay on disk for a day) and are visible only to whoever started them.

use super::bundle::Progress;
use super::manifest::Part;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Building,
    Ready { bundle: String, size: u64 },
    Failed(String),
}

#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub owner: String,
    pub case_id: i64,
    pub part: Part,
    pub video: bool,
    pub started_ms: i64,
    pub progress: Arc<Progress>,
    pub state: Mutex<JobState>,
}

impl Job {
    pub fn state(&self) -> JobState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or(JobState::Building)
    }
    pub fn set(&self, s: JobState) {
        if let Ok(mut g) = self.state.lock() {
            *g = s;
        }
    }
    pub fn percent(&self) -> u64 {
        let total = self.progress.total.load(Ordering::Relaxed);
        let done = self.progress.done.load(Ordering::Relaxed);
        match self.state() {
            JobState::Ready { .. } => 100,
            _ if total == 0 => 0,
            _ => (done.min(total) * 99) / total,
        }
    }
}

fn jobs() -> &'static Mutex<HashMap<String, Arc<Job>>> {
    static JOBS: OnceLock<Mutex<HashMap<String, Arc<Job>>>> = OnceLock::new();
    JOBS.get_or_init(|| Mutex::new(HashMap::new()))
}

pub fn start(owner: String, case_id: i64, part: Part, video: bool) -> Arc<Job> {
    let now = crate::time::now_ms();
    let job = Arc::new(Job {
        id: crate::crypto::random_token(),
        owner,
        case_id,
        part,
        video,
        started_ms: now,
        progress: Arc::new(Progress::default()),
        state: Mutex::new(JobState::Building),
    });
    if let Ok(mut map) = jobs().lock() {
        map.retain(|_, j| now - j.started_ms < super::bundle::KEEP_MS);
        map.insert(job.id.clone(), job.clone());
    }
    job
}

/// The job, if `owner` started it.
pub fn get(id: &str, owner: &str) -> Option<Arc<Job>> {
    jobs()
        .lock()
        .ok()?
        .get(id)
        .filter(|j| j.owner == owner)
        .cloned()
}
