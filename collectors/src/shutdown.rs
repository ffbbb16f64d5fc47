//! A shutdown signal for long-running collections.
//!
//! The service stops collectors when it stops; a collection then returns promptly
//! with what is complete so far (and watermarks only for that), instead of being
//! killed mid-write.

use tokio::sync::watch;

/// The receiving side: cheap to clone, one per task.
#[derive(Clone, Debug)]
pub struct Shutdown(Option<watch::Receiver<bool>>);

/// The sending side.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(Some(rx)))
    }

    /// A signal that never fires (one-shot commands, tests).
    pub fn never() -> Shutdown {
        Shutdown(None)
    }

    /// Whether shutdown was requested.
    pub fn is_triggered(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves once shutdown is requested (or its trigger is dropped).
    pub async fn wait(&mut self) {
        match &mut self.0 {
            Some(rx) => {
                let _ = rx.wait_for(|&v| v).await;
            }
            None => std::future::pending().await,
        }
    }
}

impl ShutdownTrigger {
    /// Requests shutdown.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}
