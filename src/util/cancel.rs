//! Per-build cancellation. A build checks its [`Cancel`] before each file
//! operation and, once cancelled, unwinds: its temporary paths remove
//! themselves and nothing is published. Each build has its own, so one
//! cancelled build in a long-running process leaves the next one alone.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A handle that stops a build from another thread (a signal handler, a
/// UI); clones share the state.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicI32>);

impl Cancel {
    /// A handle nobody has cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the build to stop; `code` (a signal number, say, never 0) is
    /// what [`Error::Interrupted`] then carries.
    pub fn cancel(&self, code: i32) {
        self.0
            .store(if code == 0 { -1 } else { code }, Ordering::SeqCst);
    }

    /// The code given to [`cancel`](Cancel::cancel), once it was called.
    pub fn cancelled(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }

    /// Fails with [`Error::Interrupted`] once cancelled.
    pub(crate) fn check(&self) -> Result<()> {
        match self.cancelled() {
            None => Ok(()),
            Some(code) => Err(Error::Interrupted(code)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_stops_its_own_build_only() {
        let (one, other) = (Cancel::new(), Cancel::new());
        let shared = one.clone();
        assert!(one.check().is_ok());
        shared.cancel(15);
        assert!(matches!(one.check(), Err(Error::Interrupted(15))));
        assert!(other.check().is_ok());
        other.cancel(0);
        assert_eq!(other.cancelled(), Some(-1));
    }
}
