//! Work split across cores: one persistent pool per process, and [`for_each`], the safe way a
//! kernel hands it independent parts of a step.
//!
//! # What is split, and why the bits do not change
//! Only work whose parts are independent: bands of a product's output (rows, or columns when
//! the weight is the larger operand), the samples of a convolution's batch, the batch rows of a
//! recurrent step, the planes of a pooling, slices of an optimizer's update. Each output value is then computed
//! by the same instructions in the same order whichever thread runs it, so a network gives the
//! same bits on any number of threads. A sum across parts (a convolution's weight gradient over
//! its samples) is cut into parts fixed by the shape alone, never by the thread count, and the
//! parts are added in their order (`conv`'s `GROUPS`).
//!
//! # The pool
//! With the `threading` feature, the first split starts `cores − 1` workers, which live as long
//! as the process. A split publishes one job (a pointer to the caller's closure and a task
//! counter on the caller's stack), wakes the workers it wants, runs tasks itself, and waits until
//! each worker it woke has let go of the job: nothing is allocated, and the closure outlives
//! every use of it. An idle worker spins a few tens of microseconds (a training step's next split
//! usually comes sooner) and then parks. Why not rayon: its `scope` boxes each spawned job, and
//! its `join` splits in two, recursively; this pool needs neither. See ARCHITECTURE.md for the
//! measured dispatch latency.
//!
//! While one caller holds the pool, another caller's split (an inference network shared across
//! threads, a split inside a task) runs on its own thread: the same bits, never a deadlock.
//! A panic in a task is caught, the other tasks finish, and the caller panics with its payload.
//!
//! # How many threads
//! [`current`]: the innermost [`with_threads`] on this thread, else `NN_THREADS`, else every
//! core. More than the cores is clamped to the cores (spinning threads that share a core slow
//! each other down); `NN_THREADS=0` or a non-number is an error ([`parse_threads`]). Without the
//! feature every split runs on the calling thread.

#[cfg(feature = "threading")]
pub use pool::{available, current, default_threads, set_default_threads, with_threads};

/// Runs `f` on every part, each part once; with the `threading` feature, parts may run on other
/// threads at once (see [the module docs](self)). `f` sees a part's index and the part.
///
/// Parts are typically disjoint `&mut` bands of output buffers, zipped together. At most
/// [`MAX_PARTS`] parts are split across threads; more run on the calling thread.
pub fn for_each<T: Send>(parts: impl IntoIterator<Item = T>, f: impl Fn(usize, T) + Sync) {
    #[cfg(feature = "threading")]
    pool::for_each(parts, f);
    #[cfg(not(feature = "threading"))]
    parts
        .into_iter()
        .enumerate()
        .for_each(|(index, part)| f(index, part));
}

/// How many parts a split into bands should make: [`current`] threads, or one without the
/// `threading` feature.
pub fn parts() -> usize {
    #[cfg(feature = "threading")]
    return current();
    #[cfg(not(feature = "threading"))]
    1
}

/// The work, in values read or written, below which a split does not pay: about 10 µs of one
/// core's streaming loads, adds or stores.
pub const SPLIT_FROM_VALUES: usize = 1 << 16;

/// The band length when `lanes` independent rows, columns or planes, touching `values` values
/// in all, are split across threads: two bands per thread, each a multiple of `align` lanes;
/// all the lanes in one band on one thread or below [`SPLIT_FROM_VALUES`].
pub fn lanes_per_band(lanes: usize, values: usize, align: usize) -> usize {
    let threads = parts();
    if threads < 2 || values < SPLIT_FROM_VALUES {
        return lanes.max(1);
    }
    band_rows(lanes, 2 * threads, align, align)
}

/// Sets every value of `values` to `value`; a large slice in bands across threads.
pub fn fill(values: &mut [f32], value: f32) {
    let band = lanes_per_band(values.len(), values.len(), 16);
    for_each(values.chunks_mut(band), |_, band| band.fill(value));
}

/// The most parts one [`for_each`] hands to the pool.
pub const MAX_PARTS: usize = 64;

/// Why a thread count was refused.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadsError {
    /// Zero threads cannot run anything.
    Zero,
    /// Not a whole number.
    NotANumber(std::string::String),
}

#[cfg(feature = "std")]
impl std::error::Error for ThreadsError {}

#[cfg(feature = "std")]
impl core::fmt::Display for ThreadsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Zero => write!(f, "the thread count must be at least 1, got 0"),
            Self::NotANumber(text) => {
                write!(f, "the thread count must be a whole number, got {text:?}")
            }
        }
    }
}

/// Reads a thread count as `NN_THREADS` or `--threads` give it: a whole number of at least 1.
#[cfg(feature = "std")]
pub fn parse_threads(text: &str) -> Result<usize, ThreadsError> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err(ThreadsError::Zero),
        Ok(count) => Ok(count),
        Err(_) => Err(ThreadsError::NotANumber(text.into())),
    }
}

/// Cuts `rows` rows into at most `parts` bands of about equal length, each at least
/// `min_rows` long unless `rows` is shorter, and a multiple of `align` (the last band takes the
/// rest): the band length to `chunks_mut` by.
pub fn band_rows(rows: usize, parts: usize, align: usize, min_rows: usize) -> usize {
    let bands = parts.min(MAX_PARTS).min(rows / min_rows.max(1)).max(1);
    rows.div_ceil(bands).div_ceil(align.max(1)) * align.max(1)
}

#[cfg(feature = "threading")]
mod pool {
    use core::cell::Cell;
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::any::Any;
    use std::boxed::Box;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::sync::{Mutex, OnceLock};
    use std::thread::{self, Thread};
    use std::vec::Vec;

    use super::{MAX_PARTS, parse_threads};

    /// Spins of an idle worker (about 30 µs) before it parks.
    const SPINS_BEFORE_PARK: usize = 1 << 13;

    /// The cores of this machine.
    pub fn available() -> usize {
        static CORES: OnceLock<usize> = OnceLock::new();
        *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// What [`set_default_threads`] set, or 0.
    static SET_DEFAULT: AtomicUsize = AtomicUsize::new(0);

    /// Makes `threads` (clamped to [`available`]) the count of every thread that has no
    /// [`with_threads`] in force, over `NN_THREADS`: what a program's `--threads` flag calls.
    ///
    /// # Errors
    /// [`ThreadsError::Zero`](super::ThreadsError::Zero) for 0.
    pub fn set_default_threads(threads: usize) -> Result<(), super::ThreadsError> {
        if threads == 0 {
            return Err(super::ThreadsError::Zero);
        }
        SET_DEFAULT.store(threads.min(available()), Ordering::Relaxed);
        Ok(())
    }

    /// The thread count when no [`with_threads`] is in force: what [`set_default_threads`]
    /// set, else `NN_THREADS` (clamped to [`available`]), else every core. `NN_THREADS` is read
    /// once.
    ///
    /// # Panics
    /// When `NN_THREADS` is set to `0` or to something other than a whole number.
    pub fn default_threads() -> usize {
        let set = SET_DEFAULT.load(Ordering::Relaxed);
        if set > 0 {
            return set;
        }
        static DEFAULT: OnceLock<Result<usize, std::string::String>> = OnceLock::new();
        let read = DEFAULT.get_or_init(|| match std::env::var("NN_THREADS") {
            Ok(text) => parse_threads(&text)
                .map(|count| count.min(available()))
                .map_err(|error| std::format!("NN_THREADS: {error}")),
            Err(_) => Ok(available()),
        });
        match read {
            Ok(count) => *count,
            Err(message) => panic!("{message}"),
        }
    }

    std::thread_local! {
        static LIMIT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// How many threads a split made on this thread may use now.
    pub fn current() -> usize {
        LIMIT.with(Cell::get).unwrap_or_else(default_threads)
    }

    /// Runs `f` with splits on this thread using at most `threads` threads (clamped to
    /// [`available`]); the previous limit comes back afterwards, even when `f` panics.
    ///
    /// # Panics
    /// When `threads` is 0.
    pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
        assert!(threads > 0, "{}", super::ThreadsError::Zero);
        struct Restore(Option<usize>);
        impl Drop for Restore {
            fn drop(&mut self) {
                LIMIT.with(|limit| limit.set(self.0));
            }
        }
        let _restore = Restore(LIMIT.with(|limit| limit.replace(Some(threads.min(available())))));
        f()
    }

    /// One split in flight: what the workers it woke read. Lives on the caller's stack.
    struct Job<'a> {
        run: &'a (dyn Fn(usize) + Sync),
        tasks: usize,
        next: AtomicUsize,
        panic: Mutex<Option<Box<dyn Any + Send>>>,
    }

    impl Job<'_> {
        /// Takes tasks until none is left; a panic is kept for the caller and stops nothing.
        fn work(&self) {
            loop {
                let task = self.next.fetch_add(1, Ordering::Relaxed);
                if task >= self.tasks {
                    return;
                }
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (self.run)(task))) {
                    let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                    slot.get_or_insert(payload);
                }
            }
        }
    }

    struct Worker {
        /// The job's address while this worker is asked to help with it, else null. The caller
        /// sets it; the worker clears it when it is done with the job, and never reads the job
        /// after that.
        job: core::sync::atomic::AtomicPtr<Job<'static>>,
        parked: AtomicBool,
        /// Set by the worker itself, first thing: whoever sees `parked` finds it set.
        thread: OnceLock<Thread>,
    }

    struct Pool {
        workers: Vec<&'static Worker>,
        busy: AtomicBool,
    }

    fn pool() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let workers = (1..available())
                .map(|index| {
                    let worker: &'static Worker = Box::leak(Box::new(Worker {
                        job: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
                        parked: AtomicBool::new(false),
                        thread: OnceLock::new(),
                    }));
                    thread::Builder::new()
                        .name(std::format!("nn-worker-{index}"))
                        .spawn(move || serve(worker))
                        .expect("nn: could not start a worker thread");
                    worker
                })
                .collect();
            Pool {
                workers,
                busy: AtomicBool::new(false),
            }
        })
    }

    /// A worker's life: wait for a job, help with it, let go of it.
    fn serve(worker: &'static Worker) {
        // Before it can ever park, so that a caller who sees it parked can always wake it.
        let _ = worker.thread.set(thread::current());
        loop {
            let mut spins = 0;
            let job = loop {
                let job = worker.job.load(Ordering::Acquire);
                if !job.is_null() {
                    break job;
                }
                if spins < SPINS_BEFORE_PARK {
                    spins += 1;
                    core::hint::spin_loop();
                } else {
                    worker.parked.store(true, Ordering::SeqCst);
                    if worker.job.load(Ordering::SeqCst).is_null() {
                        thread::park();
                    }
                    worker.parked.store(false, Ordering::SeqCst);
                }
            };
            // SAFETY: the caller published `job` from a live `Job` and waits, before that `Job`
            // goes away, until this worker stores null below; this worker does not touch it after.
            unsafe { &*job }.work();
            worker.job.store(core::ptr::null_mut(), Ordering::Release);
        }
    }

    /// Runs `run(0) .. run(tasks − 1)`, on up to [`current`] threads.
    fn split(tasks: usize, run: &(dyn Fn(usize) + Sync)) {
        let threads = current().min(tasks);
        let pool = if threads > 1 { Some(pool()) } else { None };
        let claimed = pool.filter(|pool| {
            pool.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        });
        let Some(pool) = claimed else {
            (0..tasks).for_each(run);
            return;
        };
        let job = Job {
            run,
            tasks,
            next: AtomicUsize::new(0),
            panic: Mutex::new(None),
        };
        // SAFETY (of the lifetime erasure): every worker that receives this pointer clears its
        // slot when done with it, and this function waits for all of them before `job` drops.
        let shared = (&job as *const Job<'_>).cast_mut().cast::<Job<'static>>();
        let helpers = &pool.workers[..threads - 1];
        for worker in helpers {
            worker.job.store(shared, Ordering::SeqCst);
            if worker.parked.load(Ordering::SeqCst)
                && let Some(thread) = worker.thread.get()
            {
                thread.unpark();
            }
        }
        job.work();
        for worker in helpers {
            let mut spins = 0usize;
            while !worker.job.load(Ordering::Acquire).is_null() {
                spins += 1;
                if spins < 1 << 16 {
                    core::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
        }
        pool.busy.store(false, Ordering::Release);
        let panic = job.panic.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }

    pub(super) fn for_each<T: Send>(
        parts: impl IntoIterator<Item = T>,
        f: impl Fn(usize, T) + Sync,
    ) {
        let mut parts = parts.into_iter();
        let slots: [Mutex<Option<T>>; MAX_PARTS] =
            core::array::from_fn(|_| Mutex::new(parts.next()));
        let count = slots
            .iter()
            .take_while(|slot| slot.lock().is_ok_and(|s| s.is_some()))
            .count();
        split(count, &|index| {
            let part = slots[index].lock().ok().and_then(|mut slot| slot.take());
            if let Some(part) = part {
                f(index, part);
            }
        });
        // Parts past `MAX_PARTS`, if any, run here.
        parts
            .enumerate()
            .for_each(|(index, part)| f(MAX_PARTS + index, part));
    }
}

#[cfg(all(test, feature = "threading"))]
mod tests {
    use super::*;
    use std::string::{String, ToString};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_part_runs_once_on_any_thread_count() {
        for threads in 1..=4 {
            let mut values = alloc::vec![0usize; 1000];
            with_threads(threads, || {
                for_each(values.chunks_mut(7), |index, chunk| {
                    chunk.iter_mut().for_each(|v| *v += index + 1);
                });
            });
            for (i, v) in values.iter().enumerate() {
                assert_eq!(*v, i / 7 + 1, "threads {threads}");
            }
        }
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_the_pool_lives_on() {
        let ran = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(|| {
            with_threads(2, || {
                for_each(0..8, |index, _| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    assert!(index != 3, "part 3 fails");
                });
            });
        });
        let message = caught.expect_err("the panic must reach the caller");
        let text = message
            .downcast_ref::<&str>()
            .copied()
            .or(message.downcast_ref::<String>().map(String::as_str));
        assert_eq!(text, Some("part 3 fails"));
        assert_eq!(ran.load(Ordering::Relaxed), 8, "the other parts still run");
        // The pool still serves the next split.
        let total = AtomicUsize::new(0);
        with_threads(2, || {
            for_each(0..8, |i, _| {
                total.fetch_add(i, Ordering::Relaxed);
            })
        });
        assert_eq!(total.load(Ordering::Relaxed), 28);
    }

    #[test]
    fn splits_from_many_threads_at_once_all_finish() {
        std::thread::scope(|scope| {
            for seed in 0..4usize {
                scope.spawn(move || {
                    for round in 0..200 {
                        let mut values = alloc::vec![0usize; 64];
                        for_each(values.chunks_mut(8), |index, chunk| {
                            chunk.fill(seed + round + index);
                        });
                        assert!(
                            values
                                .iter()
                                .enumerate()
                                .all(|(i, &v)| v == seed + round + i / 8)
                        );
                    }
                });
            }
        });
    }

    #[test]
    fn parked_workers_wake_for_the_next_split() {
        let helped = AtomicUsize::new(0);
        let caller = std::thread::current().id();
        for _ in 0..20 {
            // Long enough for an idle worker to stop spinning and park.
            std::thread::sleep(std::time::Duration::from_millis(2));
            with_threads(available(), || {
                for_each(0..8, |_, _| {
                    if std::thread::current().id() != caller {
                        helped.fetch_add(1, Ordering::Relaxed);
                    }
                    // Long enough that a worker wakes before the caller took every part.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                });
            });
        }
        if available() > 1 {
            assert!(
                helped.load(Ordering::Relaxed) > 0,
                "a woken worker took a part"
            );
        }
    }

    #[test]
    fn thread_counts_are_read_strictly() {
        assert_eq!(parse_threads(" 3 "), Ok(3));
        assert_eq!(parse_threads("0"), Err(ThreadsError::Zero));
        assert_eq!(
            parse_threads("two").unwrap_err().to_string(),
            "the thread count must be a whole number, got \"two\""
        );
        assert!(with_threads(usize::MAX, current) <= available());
    }

    #[test]
    fn bands_are_aligned_and_cover_the_rows() {
        assert_eq!(band_rows(64, 2, 8, 1), 32);
        assert_eq!(band_rows(100, 3, 16, 1), 48);
        assert_eq!(band_rows(10, 4, 1, 8), 10, "too short to cut");
        assert_eq!(band_rows(17, 4, 1, 8), 9, "two bands of at least 8");
        assert_eq!(band_rows(5, 1, 4, 1), 8);
    }
}
