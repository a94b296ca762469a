//! The memory plan of a baked network, decided at compile time: where in the caller's work
//! arena each activation and each kernel's scratch lives.
//!
//! The rule:
//! - the network's inputs stay in the caller's arrays (read only); every other value lives in
//!   a buffer of the arena;
//! - a reshape (`flatten`, `reshape`), `dropout` and a folded `batch_norm` are free: their
//!   output is their input's buffer;
//! - an activation works in place, unless another step still reads its input (a fork's other
//!   branch, a `skip`) or its input is one of the network's: then on a copy;
//! - every other step writes a buffer of its own, and a kernel's scratch (a convolution's
//!   column matrix, a tile of it at a time with its product) is a buffer that lives for that
//!   step alone;
//! - a buffer lives from the step that writes it to the last step that reads it (the
//!   network's output to the end), and two buffers whose lives overlap never share a value;
//! - the buffers are placed largest first, each at the lowest offset that does not collide
//!   with a placed buffer it overlaps in time. In a chain this is ping-pong between two
//!   regions; a fork's branch outputs stay only until the merge reads them.
//!
//! `WORK_LEN` is the end of the highest buffer; `PEAK_ACTIVATION_BYTES` the largest sum of
//! activation buffers (not scratch) alive at one step.

use crate::kinds::bake::Run;

/// Where a value is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loc {
    /// One of the network's inputs (by index, in declaration order), in the caller's array.
    Input(usize),
    /// A buffer of the arena.
    Buf(usize),
}

/// One step as the plan sees it.
pub struct StepUse {
    /// The nodes it reads.
    pub inputs: Vec<usize>,
    pub output: usize,
    pub run: Run,
    pub scratch: usize,
    /// What the step is, for the budget error: "`conv1`".
    pub label: String,
}

/// One buffer of the arena.
pub struct Buffer {
    pub len: usize,
    pub offset: usize,
    /// The steps it lives through, inclusive.
    pub first: usize,
    pub last: usize,
    pub scratch: bool,
    /// "`conv1`'s output", "`conv1`'s scratch".
    pub label: String,
}

/// Where one step reads and writes.
pub struct StepMem {
    pub inputs: Vec<Loc>,
    pub output: Loc,
    pub scratch: Option<usize>,
    /// An in-place step on a copy: the output buffer is filled from the input first.
    pub copy_first: bool,
}

/// The whole plan.
pub struct Memory {
    pub buffers: Vec<Buffer>,
    pub steps: Vec<StepMem>,
    /// The output's buffer; `copy_output` names the input the output is, unchanged (a
    /// network of reshapes), copied into it at the end.
    pub output: usize,
    pub copy_output: Option<usize>,
    pub work_len: usize,
    pub peak_activations: usize,
}

/// Plans `steps` over nodes of `lens` values, the network's inputs being `inputs` (in
/// declaration order) and its output `output`.
pub fn plan(lens: &[usize], inputs: &[usize], output: usize, steps: &[StepUse]) -> Memory {
    let mut loc: Vec<Option<Loc>> = vec![None; lens.len()];
    for (i, &input) in inputs.iter().enumerate() {
        loc[input] = Some(Loc::Input(i));
    }
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); lens.len()];
    for (t, step) in steps.iter().enumerate() {
        for &node in &step.inputs {
            readers[node].push(t);
        }
    }
    let mut buffers: Vec<Buffer> = Vec::new();
    // The nodes that are each buffer's values.
    let mut nodes_of: Vec<Vec<usize>> = Vec::new();
    let new_buffer = |buffers: &mut Vec<Buffer>, len, t, scratch, label: String| {
        buffers.push(Buffer {
            len,
            offset: 0,
            first: t,
            last: t,
            scratch,
            label,
        });
        buffers.len() - 1
    };
    let mut planned = Vec::new();
    for (t, step) in steps.iter().enumerate() {
        let inputs: Vec<Loc> = step
            .inputs
            .iter()
            .map(|&node| loc[node].unwrap_or(Loc::Input(0)))
            .collect();
        let (output, copy_first) = match (step.run, inputs.first().copied()) {
            (Run::Identity, Some(from)) => (from, false),
            (Run::InPlace, Some(Loc::Buf(b)))
                if nodes_of[b]
                    .iter()
                    .all(|&node| readers[node].iter().all(|&r| r <= t)) =>
            {
                (Loc::Buf(b), false)
            }
            (Run::InPlace, _) => {
                let label = format!("{}'s output", step.label);
                let b = new_buffer(&mut buffers, lens[step.output], t, false, label);
                nodes_of.push(Vec::new());
                (Loc::Buf(b), true)
            }
            _ => {
                let label = format!("{}'s output", step.label);
                let b = new_buffer(&mut buffers, lens[step.output], t, false, label);
                nodes_of.push(Vec::new());
                (Loc::Buf(b), false)
            }
        };
        if let Loc::Buf(b) = output {
            nodes_of[b].push(step.output);
        }
        loc[step.output] = Some(output);
        for input in &inputs {
            if let Loc::Buf(b) = *input {
                buffers[b].last = buffers[b].last.max(t);
            }
        }
        let scratch = (step.scratch > 0).then(|| {
            let label = format!("{}'s scratch", step.label);
            let b = new_buffer(&mut buffers, step.scratch, t, true, label);
            nodes_of.push(Vec::new());
            b
        });
        planned.push(StepMem {
            inputs,
            output,
            scratch,
            copy_first,
        });
    }
    let end = steps.len();
    let (output_buffer, copy_output) = match loc[output] {
        Some(Loc::Buf(b)) => (b, None),
        other => (
            new_buffer(&mut buffers, lens[output], end, false, "the output".into()),
            Some(match other {
                Some(Loc::Input(i)) => i,
                _ => 0,
            }),
        ),
    };
    buffers[output_buffer].last = end;
    place(&mut buffers);
    let work_len = buffers.iter().map(|b| b.offset + b.len).max().unwrap_or(0);
    let peak_activations = (0..=end)
        .map(|t| {
            buffers
                .iter()
                .filter(|b| !b.scratch && b.first <= t && t <= b.last)
                .map(|b| b.len)
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0);
    Memory {
        buffers,
        steps: planned,
        output: output_buffer,
        copy_output,
        work_len,
        peak_activations,
    }
}

/// Gives every buffer an offset: largest first, each at the lowest offset clear of the
/// buffers already placed that live at the same time.
fn place(buffers: &mut [Buffer]) {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_by_key(|&b| (std::cmp::Reverse(buffers[b].len), buffers[b].first));
    let mut placed: Vec<usize> = Vec::new();
    for b in order {
        let (first, last, len) = (buffers[b].first, buffers[b].last, buffers[b].len);
        let mut taken: Vec<(usize, usize)> = placed
            .iter()
            .map(|&p| &buffers[p])
            .filter(|p| p.first <= last && first <= p.last)
            .map(|p| (p.offset, p.offset + p.len))
            .collect();
        taken.sort_unstable();
        let mut offset = 0;
        for (start, end) in taken {
            if offset + len <= start {
                break;
            }
            offset = offset.max(end);
        }
        buffers[b].offset = offset;
        placed.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(inputs: &[usize], output: usize, run: Run, scratch: usize) -> StepUse {
        StepUse {
            inputs: inputs.to_vec(),
            output,
            run,
            scratch,
            label: format!("step {output}"),
        }
    }

    #[test]
    fn a_chain_ping_pongs_and_activations_work_in_place() {
        // input(8) -> dense(8 -> 6) -> relu -> dense(6 -> 4) -> relu -> dense(4 -> 2)
        let lens = [8, 6, 6, 4, 4, 2];
        let steps = [
            step(&[0], 1, Run::Fresh, 0),
            step(&[1], 2, Run::InPlace, 0),
            step(&[2], 3, Run::Fresh, 0),
            step(&[3], 4, Run::InPlace, 0),
            step(&[4], 5, Run::Fresh, 0),
        ];
        let memory = plan(&lens, &[0], 5, &steps);
        assert_eq!(memory.buffers.len(), 3);
        assert_eq!(memory.work_len, 10);
        assert_eq!(memory.peak_activations, 10);
        assert_eq!(memory.steps[1].output, memory.steps[0].output);
    }

    #[test]
    fn a_skip_keeps_the_fork_input_and_the_activation_copies() {
        // 0 -> dense -> 1; fork { a: [relu] (1 -> 2), b: skip } => add (1, 2 -> 3)
        let lens = [4, 4, 4, 4];
        let steps = [
            step(&[0], 1, Run::Fresh, 0),
            step(&[1], 2, Run::InPlace, 0),
            step(&[2, 1], 3, Run::Fresh, 0),
        ];
        let memory = plan(&lens, &[0], 3, &steps);
        assert!(memory.steps[1].copy_first);
        assert_eq!(memory.work_len, 12);
    }

    #[test]
    fn scratch_lives_for_its_step_alone() {
        let lens = [4, 10, 2, 1];
        let steps = [
            step(&[0], 1, Run::Fresh, 30),
            step(&[1], 2, Run::Fresh, 0),
            step(&[2], 3, Run::Fresh, 20),
        ];
        let memory = plan(&lens, &[0], 3, &steps);
        assert_eq!(memory.work_len, 40);
        assert_eq!(memory.peak_activations, 12);
    }

    #[test]
    fn several_inputs_stay_in_the_callers_arrays() {
        // input 0 (4) -> dense -> 2 (3); input 1 (2) -> relu -> 3 (2); concat(2, 3) -> 4 (5)
        let lens = [4, 2, 3, 2, 5];
        let steps = [
            step(&[0], 2, Run::Fresh, 0),
            step(&[1], 3, Run::InPlace, 0),
            step(&[2, 3], 4, Run::Fresh, 0),
        ];
        let memory = plan(&lens, &[0, 1], 4, &steps);
        assert_eq!(memory.steps[0].inputs, [Loc::Input(0)]);
        assert_eq!(memory.steps[1].inputs, [Loc::Input(1)]);
        // An activation on an input works on a copy: the caller's array is read only.
        assert!(memory.steps[1].copy_first);
        assert_eq!(memory.work_len, 3 + 2 + 5);
    }
}
