//! What every firmware under `embedded/` shares: the MNIST test images it classifies, and a
//! harness that runs a classifier over them and reports, on QEMU's `mps2-an386` board (a
//! Cortex-M4F) or on the host.
//!
//! The firmware is one program for both. On the device it boots through cortex-m-rt, and
//! [`run`] reports over semihosting:
//!
//! ```text
//! mnist-mlp: predictions 7210414959...
//! mnist-mlp: 100/100 correct
//! mnist-mlp: 456123 instructions per inference
//! mnist-mlp: stack peak 3264 B
//! ```
//!
//! On the host it prints the first two lines, so `embedded/run.sh` can check that the device
//! predicts what the host does.
//!
//! **Instructions.** QEMU is not cycle-accurate and does not model the DWT cycle counter, but
//! under `-icount shift=0` every instruction advances virtual time by exactly 1 ns, and the
//! board's CMSDK timer 0 runs at 25 MHz: one tick per 40 instructions, the same count on every
//! run. [`run`] reads the timer around each call and sums the ticks.
//!
//! **Stack.** [`run`] paints the free RAM between the statics and the stack pointer before the
//! first call and finds, after the last, the lowest word that changed: the stack's peak depth,
//! the harness's own frames included.
//!
//! This crate is firmware, not the library: its register and stack accesses are the only
//! `unsafe` outside `nn-core/src/linalg/`.
#![no_std]

#[cfg(not(target_os = "none"))]
extern crate std;

/// Pixels of one MNIST image, 28 × 28.
pub const PIXELS: usize = 28 * 28;

/// The most images a firmware classifies in one run (`NN_EMBEDDED_IMAGES` at build time).
pub const MAX_IMAGES: usize = 1000;

static IMAGES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mnist_images.bin"));
static LABELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mnist_labels.bin"));

/// The first MNIST test images and their labels, as the build embedded them.
pub fn test_images() -> impl Iterator<Item = (&'static [u8; PIXELS], u8)> {
    IMAGES
        .chunks_exact(PIXELS)
        .filter_map(|image| image.try_into().ok())
        .zip(LABELS.iter().copied())
        .take(MAX_IMAGES)
}

/// `image`'s pixels divided by 255, as the examples train on them.
pub fn scaled(image: &[u8; PIXELS], out: &mut [f32; PIXELS]) {
    for (value, &pixel) in out.iter_mut().zip(image) {
        *value = f32::from(pixel) / 255.0;
    }
}

/// MNIST's training-set pixel mean and standard deviation after dividing by 255, the
/// constants the examples standardize with (`nn::data::MNIST_MEAN`, `MNIST_STD`).
pub const MNIST_MEAN: f32 = 0.1307;
pub const MNIST_STD: f32 = 0.3081;

/// `image`'s pixels divided by 255 and standardized, as the convolutional examples train on
/// them.
pub fn standardized(image: &[u8; PIXELS], out: &mut [f32; PIXELS]) {
    for (value, &pixel) in out.iter_mut().zip(image) {
        *value = (f32::from(pixel) / 255.0 - MNIST_MEAN) / MNIST_STD;
    }
}

/// Where an output digest starts (FNV-1a's offset basis).
pub const DIGEST_START: u32 = 0x811c_9dc5;

/// `hash` with the bytes of `values` folded in (FNV-1a): how the int8 firmwares show that the
/// device's outputs are the host's, byte for byte.
pub fn digest(mut hash: u32, values: &[i8]) -> u32 {
    for &v in values {
        hash = (hash ^ u32::from(v as u8)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// The index of the largest value: the predicted class of a row of logits (float or int8).
pub fn argmax<T: PartialOrd + Copy>(logits: &[T]) -> u8 {
    let mut best = 0;
    for (class, &logit) in logits.iter().enumerate() {
        if logit > logits[best] {
            best = class;
        }
    }
    best as u8
}

/// What a run found: each prediction as an ASCII digit, and how many were right.
struct Tally {
    predictions: [u8; MAX_IMAGES],
    count: usize,
    correct: usize,
}

impl Tally {
    fn new() -> Self {
        Tally {
            predictions: [b'?'; MAX_IMAGES],
            count: 0,
            correct: 0,
        }
    }

    fn add(&mut self, predicted: u8, label: u8) {
        self.predictions[self.count] = b'0' + predicted.min(9);
        self.count += 1;
        self.correct += usize::from(predicted == label);
    }

    fn predictions(&self) -> &str {
        core::str::from_utf8(&self.predictions[..self.count]).unwrap_or("?")
    }
}

/// The most steps a network may report through a [`Probe`].
pub const MAX_LAYERS: usize = 64;

/// Per-layer instruction counts: a baked network's `infer_probed` calls [`Probe::mark`] after
/// each step, and the probe gives the instructions since the last mark to that step. On the
/// host it counts nothing.
pub struct Probe {
    layers: [(&'static str, u64, usize); MAX_LAYERS],
    count: usize,
    next: usize,
    last: u32,
}

impl Probe {
    #[cfg(target_os = "none")]
    fn new() -> Self {
        Probe {
            layers: [("", 0, 0); MAX_LAYERS],
            count: 0,
            next: 0,
            last: 0,
        }
    }

    /// Before an inference: the clock starts at the first step.
    #[cfg(target_os = "none")]
    fn start(&mut self) {
        self.next = 0;
        self.last = now();
    }

    /// After a step: `layer` ran `multiply_accumulates` products since the last mark.
    /// Prints each layer's instructions per inference over `inferences` probed passes, and its
    /// multiply-accumulates.
    #[cfg(target_os = "none")]
    fn report(&self, name: &str, inferences: usize) {
        for &(layer, ticks, macs) in &self.layers[..self.count] {
            let instructions = ticks * device::INSTRUCTIONS_PER_TICK / inferences as u64;
            cortex_m_semihosting::hprintln!(
                "{}: layer {}: {} instructions, {} multiply-accumulates",
                name,
                layer,
                instructions,
                macs
            );
        }
    }

    pub fn mark(&mut self, layer: &'static str, multiply_accumulates: usize) {
        let time = now();
        let ticks = u64::from(self.last.wrapping_sub(time));
        if let Some(entry) = self.layers.get_mut(self.next) {
            if self.next == self.count {
                *entry = (layer, 0, multiply_accumulates);
                self.count += 1;
            }
            entry.1 += ticks;
        }
        self.next += 1;
        self.last = now();
    }
}

/// The class a baked network `$net` gives `$input` (its `argmax`), through `infer`, or through
/// `infer_probed` marking each layer on `$probe` when it is `Some`: the `classify` closure of
/// [`run`].
///
/// ```ignore
/// board::run("mnist-cnn", &mut pixels, board::standardized, |pixels, probe| {
///     board::classify!(CnnBaked, pixels, &mut work, probe)
/// }, || None)
/// ```
#[macro_export]
macro_rules! classify {
    ($net:ty, $input:expr, $work:expr, $probe:expr) => {
        $crate::argmax(match $probe {
            ::core::option::Option::None => <$net>::infer($input, $work),
            ::core::option::Option::Some(probe) => {
                <$net>::infer_probed($input, $work, &mut |layer, macs| probe.mark(layer, macs))
            }
        })
    };
}

/// A firmware's entry point: `main` (through cortex-m-rt on the device, a plain `main` on the
/// host) runs [`run`] over the embedded images with the baked network `$net`, each image
/// turned into its input by `$prepare` ([`scaled`] or [`standardized`]). The firmware crate
/// depends on `cortex-m-rt` for the device target.
///
/// ```ignore
/// board::firmware!("mnist-cnn", CnnBaked, board::standardized);
/// ```
#[macro_export]
macro_rules! firmware {
    ($name:literal, $net:ty, $prepare:path) => {
        /// Every embedded test image through the network, on the device or the host.
        fn run() -> ! {
            let mut pixels = [0.0f32; $crate::PIXELS];
            let mut work = [0.0f32; <$net>::WORK_LEN];
            $crate::run(
                $name,
                &mut pixels,
                $prepare,
                |pixels, probe| $crate::classify!($net, pixels, &mut work, probe),
                || None,
            )
        }

        #[cfg(target_os = "none")]
        #[cortex_m_rt::entry]
        fn main() -> ! {
            run()
        }

        #[cfg(not(target_os = "none"))]
        fn main() {
            run()
        }
    };
}

/// [`firmware!`] for an int8 network baked from a quantized file: each image prepared by
/// `$prepare`, then quantized with the network's input scale and zero point (untimed, as the
/// float firmwares' preparation is), and classified by `argmax` over the int8 output. The
/// firmware crate names `nn` as `nn`.
///
/// ```ignore
/// board::firmware_int8!("mnist-cnn-int8", CnnBaked, board::standardized);
/// ```
#[macro_export]
macro_rules! firmware_int8 {
    ($name:literal, $net:ty, $prepare:path) => {
        /// Every embedded test image through the network, on the device or the host.
        fn run() -> ! {
            let mut pixels = [0i8; $crate::PIXELS];
            let mut work = [0i8; <$net>::WORK_LEN];
            // The network's own quantization of its input (`nn::quant::QuantParams`), in
            // the firmware crate, which depends on `nn`.
            let input = ::nn::quant::QuantParams {
                scale: <$net>::INPUT_SCALE,
                zero_point: <$net>::INPUT_ZERO_POINT,
            };
            let prepare = |image: &[u8; $crate::PIXELS], q: &mut [i8; $crate::PIXELS]| {
                let mut real = [0.0f32; $crate::PIXELS];
                $prepare(image, &mut real);
                for (q, &x) in q.iter_mut().zip(&real) {
                    *q = input.quantize(x);
                }
            };
            // Every output byte of the timed pass, hashed: the device's must be the host's.
            let digest = ::core::cell::Cell::new($crate::DIGEST_START);
            $crate::run(
                $name,
                &mut pixels,
                prepare,
                |pixels, probe| match probe {
                    ::core::option::Option::None => {
                        let out = <$net>::infer(pixels, &mut work);
                        digest.set($crate::digest(digest.get(), out));
                        $crate::argmax(out)
                    }
                    probe => $crate::classify!($net, pixels, &mut work, probe),
                },
                || ::core::option::Option::Some(digest.get()),
            )
        }

        #[cfg(target_os = "none")]
        #[cortex_m_rt::entry]
        fn main() -> ! {
            run()
        }

        #[cfg(not(target_os = "none"))]
        fn main() {
            run()
        }
    };
}

/// The board timer's count (down), or 0 on the host.
fn now() -> u32 {
    #[cfg(target_os = "none")]
    return device::timer();
    #[cfg(not(target_os = "none"))]
    0
}

const NO_IMAGES: &str = "no MNIST test images are embedded: fetch MNIST first (`embedded/run.sh` does) or point MNIST_DIR at it, then rebuild";

/// Classifies every embedded image: `prepare` turns it into the network's input (in `input`,
/// untimed), `classify` runs the network on that and gives the class (timed); with a
/// [`Probe`] it runs `infer_probed` instead of `infer`. Then reports on the device:
/// predictions, accuracy, instructions per inference, the stack's peak, and each layer's
/// instructions and multiply-accumulates (from a second, probed pass, whose marks cost a few
/// instructions each); and exits QEMU.
#[cfg(target_os = "none")]
pub fn run<I>(
    name: &str,
    input: &mut I,
    mut prepare: impl FnMut(&[u8; PIXELS], &mut I),
    mut classify: impl FnMut(&I, Option<&mut Probe>) -> u8,
    digest: impl Fn() -> Option<u32>,
) -> ! {
    use cortex_m_semihosting::{debug, hprintln};

    device::paint_stack();
    device::start_timer();
    let mut tally = Tally::new();
    let mut ticks: u64 = 0;
    for (image, label) in test_images() {
        prepare(image, input);
        let before = device::timer();
        let predicted = classify(core::hint::black_box(&*input), None);
        let after = device::timer();
        // A down-counter: the ticks between the reads, across a wrap too.
        ticks += u64::from(before.wrapping_sub(after));
        tally.add(predicted, label);
    }
    let stack = device::stack_peak();
    let mut probe = Probe::new();
    for (image, _) in test_images() {
        prepare(image, input);
        probe.start();
        classify(core::hint::black_box(&*input), Some(&mut probe));
    }
    if tally.count == 0 {
        hprintln!("{}: {}", name, NO_IMAGES);
        debug::exit(debug::EXIT_FAILURE);
    } else {
        let instructions = ticks * device::INSTRUCTIONS_PER_TICK / tally.count as u64;
        hprintln!("{}: predictions {}", name, tally.predictions());
        hprintln!("{}: {}/{} correct", name, tally.correct, tally.count);
        hprintln!("{}: {} instructions per inference", name, instructions);
        hprintln!("{}: stack peak {} B", name, stack);
        if let Some(digest) = digest() {
            hprintln!("{}: output digest {:08x}", name, digest);
        }
        probe.report(name, tally.count);
        debug::exit(debug::EXIT_SUCCESS);
    }
    loop {
        core::hint::spin_loop();
    }
}

/// Classifies every embedded image as the device run does and prints the predictions and
/// accuracy it is compared with; then exits (with status 1 when no image is embedded).
#[cfg(not(target_os = "none"))]
pub fn run<I>(
    name: &str,
    input: &mut I,
    mut prepare: impl FnMut(&[u8; PIXELS], &mut I),
    mut classify: impl FnMut(&I, Option<&mut Probe>) -> u8,
    digest: impl Fn() -> Option<u32>,
) -> ! {
    let mut tally = Tally::new();
    for (image, label) in test_images() {
        prepare(image, input);
        tally.add(classify(input, None), label);
    }
    if tally.count == 0 {
        std::eprintln!("{name}: {NO_IMAGES}");
        std::process::exit(1);
    }
    std::println!("{name}: predictions {}", tally.predictions());
    std::println!("{name}: {}/{} correct", tally.correct, tally.count);
    if let Some(digest) = digest() {
        std::println!("{name}: output digest {digest:08x}");
    }
    std::process::exit(0)
}

/// The longest text [`run_text`] reads: every window's predictions fit one line.
pub const MAX_TEXT: usize = 2048;

/// A language model over `text` on the device: the text in windows of `T` ids (`id` maps each
/// byte), each window's next-id prediction at every position from `predict` (timed, one
/// inference per window), checked against the id that follows. Reports as [`run`] does, the
/// predictions as the characters `character` maps them to (a newline shown as `|`), so the
/// host's line compares with the device's.
#[cfg(target_os = "none")]
pub fn run_text<const T: usize>(
    name: &str,
    text: &[u8],
    id: impl Fn(u8) -> usize,
    character: impl Fn(usize) -> u8,
    mut predict: impl FnMut(&[f32; T], &mut [u8; T], Option<&mut Probe>),
) -> ! {
    use cortex_m_semihosting::{debug, hprintln};

    device::paint_stack();
    device::start_timer();
    let mut ids = [0.0f32; T];
    let mut predicted = [0u8; T];
    let (mut shown, mut count, mut correct) = ([b'?'; MAX_TEXT], 0, 0);
    let mut ticks: u64 = 0;
    let windows = text.len().saturating_sub(1).min(MAX_TEXT) / T.max(1);
    for w in 0..windows {
        let start = w * T;
        for (slot, &byte) in ids.iter_mut().zip(&text[start..start + T]) {
            *slot = id(byte) as f32;
        }
        let before = device::timer();
        predict(core::hint::black_box(&ids), &mut predicted, None);
        let after = device::timer();
        ticks += u64::from(before.wrapping_sub(after));
        for (p, &next) in predicted.iter().zip(&text[start + 1..start + T + 1]) {
            let c = character(usize::from(*p));
            shown[count] = if c == b'\n' { b'|' } else { c };
            correct += usize::from(usize::from(*p) == id(next));
            count += 1;
        }
    }
    let stack = device::stack_peak();
    let mut probe = Probe::new();
    for w in 0..windows {
        for (slot, &byte) in ids.iter_mut().zip(&text[w * T..w * T + T]) {
            *slot = id(byte) as f32;
        }
        probe.start();
        predict(
            core::hint::black_box(&ids),
            &mut predicted,
            Some(&mut probe),
        );
    }
    if windows == 0 {
        hprintln!("{}: the text is shorter than one window", name);
        debug::exit(debug::EXIT_FAILURE);
    } else {
        let instructions = ticks * device::INSTRUCTIONS_PER_TICK / windows as u64;
        let shown = core::str::from_utf8(&shown[..count]).unwrap_or("?");
        hprintln!("{}: predictions {}", name, shown);
        hprintln!("{}: {}/{} correct", name, correct, count);
        hprintln!("{}: {} instructions per inference", name, instructions);
        hprintln!("{}: stack peak {} B", name, stack);
        probe.report(name, windows);
        debug::exit(debug::EXIT_SUCCESS);
    }
    loop {
        core::hint::spin_loop();
    }
}

/// [`run_text`] on the host: the same predictions, printed for the device's to be compared
/// with.
#[cfg(not(target_os = "none"))]
pub fn run_text<const T: usize>(
    name: &str,
    text: &[u8],
    id: impl Fn(u8) -> usize,
    character: impl Fn(usize) -> u8,
    mut predict: impl FnMut(&[f32; T], &mut [u8; T], Option<&mut Probe>),
) -> ! {
    let mut ids = [0.0f32; T];
    let mut predicted = [0u8; T];
    let (mut shown, mut correct) = (std::string::String::new(), 0);
    let windows = text.len().saturating_sub(1).min(MAX_TEXT) / T.max(1);
    for w in 0..windows {
        let start = w * T;
        for (slot, &byte) in ids.iter_mut().zip(&text[start..start + T]) {
            *slot = id(byte) as f32;
        }
        predict(&ids, &mut predicted, None);
        for (p, &next) in predicted.iter().zip(&text[start + 1..start + T + 1]) {
            let c = character(usize::from(*p));
            shown.push(if c == b'\n' { '|' } else { char::from(c) });
            correct += usize::from(usize::from(*p) == id(next));
        }
    }
    if windows == 0 {
        std::eprintln!("{name}: the text is shorter than one window");
        std::process::exit(1);
    }
    std::println!("{name}: predictions {shown}");
    std::println!("{name}: {correct}/{} correct", windows * T);
    std::process::exit(0)
}

#[cfg(target_os = "none")]
mod device {
    use core::ptr::{read_volatile, write_volatile};

    /// The mps2-an386's CMSDK APB timer 0: control, current value, reload value.
    const TIMER0_CTRL: *mut u32 = 0x4000_0000 as *mut u32;
    const TIMER0_VALUE: *mut u32 = 0x4000_0004 as *mut u32;
    const TIMER0_RELOAD: *mut u32 = 0x4000_0008 as *mut u32;

    /// Instructions per timer tick under `-icount shift=0`: 1 ns each, and a 25 MHz timer.
    pub const INSTRUCTIONS_PER_TICK: u64 = 40;

    /// What the free RAM is painted with before the run.
    const PAINT: u32 = 0x5AFE_C0DE;
    /// Bytes below the stack pointer left unpainted, for the painting function's own frame.
    const MARGIN: usize = 256;

    unsafe extern "C" {
        /// The end of the statics (cortex-m-rt's `link.x`): the lowest address the stack
        /// could reach.
        static __sheap: u32;
        /// The top of RAM, where the stack starts.
        static _stack_start: u32;
    }

    pub fn start_timer() {
        // SAFETY: the three registers of timer 0, which only this harness uses; volatile,
        // as MMIO must be.
        unsafe {
            write_volatile(TIMER0_RELOAD, u32::MAX);
            write_volatile(TIMER0_VALUE, u32::MAX);
            write_volatile(TIMER0_CTRL, 1);
        }
    }

    pub fn timer() -> u32 {
        // SAFETY: timer 0's value register, read-only here.
        unsafe { read_volatile(TIMER0_VALUE) }
    }

    fn bottom() -> usize {
        (&raw const __sheap) as usize
    }

    fn top() -> usize {
        (&raw const _stack_start) as usize
    }

    /// Paints the RAM from the statics' end to just below the current stack frame.
    #[inline(never)]
    pub fn paint_stack() {
        let here = 0u32;
        let sp = (&raw const here) as usize;
        let mut address = bottom();
        while address + 4 <= sp.saturating_sub(MARGIN) {
            // SAFETY: the words between the statics and the live stack are unused: nothing
            // is allocated there, no interrupt is enabled, and the frames of this call sit
            // above `sp - MARGIN`.
            unsafe { write_volatile(address as *mut u32, PAINT) };
            address += 4;
        }
    }

    /// The stack's peak depth in bytes: from its top down to the lowest word no longer painted.
    pub fn stack_peak() -> usize {
        let mut address = bottom();
        // SAFETY: reads of the RAM painted above, all inside the RAM region of `memory.x`.
        while address < top() && unsafe { read_volatile(address as *const u32) } == PAINT {
            address += 4;
        }
        top() - address
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        use cortex_m_semihosting::{debug, hprintln};
        hprintln!("panic: {}", info);
        debug::exit(debug::EXIT_FAILURE);
        loop {
            core::hint::spin_loop();
        }
    }
}
