//! Running independent jobs on every core while consuming their results
//! in order, with a bounded number of results waiting, so a stream (the
//! tarball) can be written as soon as its next piece is ready.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

/// How many results may wait for the consumer: enough to keep every
/// worker busy behind one slow job, few enough to bound memory.
const WINDOW_PER_WORKER: usize = 8;

/// The default number of worker threads: the cores available, at least one.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `job` on each item across `jobs` threads and hands the results
/// to `consume` in item order. Stops at the first error (of a job or of
/// `consume`) and returns it.
pub fn map_ordered<T, R, E, J, C>(jobs: usize, items: &[T], job: J, mut consume: C) -> Result<(), E>
where
    T: Sync,
    R: Send,
    E: Send,
    J: Fn(&T) -> Result<R, E> + Sync,
    C: FnMut(usize, R) -> Result<(), E>,
{
    let workers = jobs.min(items.len()).max(1);
    let window = workers * WINDOW_PER_WORKER;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // How many results the consumer has taken; workers wait to stay within
    // the window.
    let consumed = (Mutex::new(0usize), Condvar::new());
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<R, E>)>();
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, failed, consumed, job) = (&next, &failed, &consumed, &job);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= items.len() || failed.load(Ordering::SeqCst) {
                    return;
                }
                {
                    let mut done = consumed.0.lock().unwrap_or_else(|e| e.into_inner());
                    while i >= *done + window && !failed.load(Ordering::SeqCst) {
                        done = consumed.1.wait(done).unwrap_or_else(|e| e.into_inner());
                    }
                }
                if failed.load(Ordering::SeqCst) {
                    return;
                }
                if tx.send((i, job(&items[i]))).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let stop = |e: E| {
            failed.store(true, Ordering::SeqCst);
            consumed.1.notify_all();
            Err(e)
        };
        let mut pending = BTreeMap::new();
        let mut expected = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&expected) {
                match result.and_then(|r| consume(expected, r)) {
                    Ok(()) => {}
                    Err(e) => return stop(e),
                }
                expected += 1;
                *consumed.0.lock().unwrap_or_else(|e| e.into_inner()) = expected;
                consumed.1.notify_all();
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_order() {
        let items: Vec<u64> = (0..500).collect();
        let mut seen = Vec::new();
        map_ordered(
            4,
            &items,
            |&n| {
                // Uneven work, so completion order differs from item order.
                std::thread::sleep(std::time::Duration::from_micros((n * 7919) % 300));
                Ok::<_, ()>(n * 2)
            },
            |i, r| {
                seen.push((i, r));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            seen,
            (0..500).map(|n| (n as usize, n * 2)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_first_error_stops_the_run() {
        let items: Vec<u32> = (0..1000).collect();
        let mut taken = 0;
        let err = map_ordered(
            4,
            &items,
            |&n| if n == 10 { Err(n) } else { Ok(n) },
            |_, _| {
                taken += 1;
                Ok(())
            },
        );
        assert_eq!(err, Err(10));
        assert_eq!(taken, 10);
        let err = map_ordered(
            4,
            &items,
            |&n| Ok(n),
            |i, _| if i == 3 { Err(99) } else { Ok(()) },
        );
        assert_eq!(err, Err(99));
    }
}
