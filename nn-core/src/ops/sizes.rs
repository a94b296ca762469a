//! The messages of the size checks that `concat`, `split` and `slice` leave to the compiler
//! (see the [module docs](crate::ops#how-shapes-are-checked)): each names the op, the axis and
//! every size involved, and says the fix, with the tensor type to write.

use crate::check::Message;

/// Appends `Tensor{rank}<d0, d1, ..>`: the tensor type of `shape` with `size` along `axis`.
const fn tensor_type(mut m: Message, shape: &[usize], axis: usize, size: usize) -> Message {
    m = m.text("`Tensor").value(shape.len()).text("<");
    let mut i = 0;
    while i < shape.len() {
        if i > 0 {
            m = m.text(", ");
        }
        m = m.value(if i == axis { size } else { shape[i] });
        i += 1;
    }
    m.text(">`")
}

/// `concat` and `split_backward`: two parts of `a` and `c` along `axis` into `out` of `n`.
pub(crate) const fn join(
    op: &str,
    [a_name, c_name, out_name]: [&str; 3],
    axis: usize,
    shape: &[usize],
    [a, c, n]: [usize; 3],
) -> Message {
    let m = Message::new()
        .text("`")
        .text(op)
        .text("` along axis ")
        .value(axis);
    let m = m.text(": `").text(a_name).text("` has ").value(a);
    let m = m.text(" and `").text(c_name).text("` has ").value(c);
    let m = m
        .text(" there, so `")
        .text(out_name)
        .text("` needs ")
        .value(a + c);
    let m = m
        .text(", not ")
        .value(n)
        .text("; make `")
        .text(out_name)
        .text("` a ");
    tensor_type(m, shape, axis, a + c)
}

/// `split` and `concat_backward`: `whole` of `size` along `axis` into parts of `a` and `c`.
pub(crate) const fn parts(
    op: &str,
    [whole_name, a_name, c_name]: [&str; 3],
    axis: usize,
    shape: &[usize],
    [size, a, c]: [usize; 3],
) -> Message {
    let m = Message::new()
        .text("`")
        .text(op)
        .text("` along axis ")
        .value(axis);
    let m = m.text(": `").text(whole_name).text("` has ").value(size);
    let m = m
        .text(" there, but `")
        .text(a_name)
        .text("` and `")
        .text(c_name);
    let m = m
        .text("` have ")
        .value(a)
        .text(" + ")
        .value(c)
        .text(" = ")
        .value(a + c);
    if a < size {
        let m = m.text("; make `").text(c_name).text("` a ");
        tensor_type(m, shape, axis, size - a)
    } else {
        let m = m
            .text("; `")
            .text(a_name)
            .text("` alone must have fewer than ")
            .value(size);
        m.text(" there")
    }
}

/// `slice` and `slice_backward`: entries `start .. start + len` of an axis of `size`.
pub(crate) const fn window(
    op: &str,
    [part_name, whole_name]: [&str; 2],
    axis: usize,
    [start, len, size]: [usize; 3],
) -> Message {
    let m = Message::new()
        .text("`")
        .text(op)
        .text("` along axis ")
        .value(axis);
    let m = m.text(": `").text(part_name).text("`'s ").value(len);
    let m = m
        .text(" entries from `Start::<")
        .value(start)
        .text(">` end at ");
    let m = m
        .value(start + len)
        .text(", past the ")
        .value(size)
        .text(" of `");
    let m = m.text(whole_name).text("`; ");
    if len <= size {
        let m = m.text("start at most at ").value(size - len);
        if start < size {
            let m = m.text(", or shorten `").text(part_name).text("` to ");
            m.value(size - start).text(" there")
        } else {
            m
        }
    } else {
        let m = m.text("shorten `").text(part_name).text("` to at most ");
        m.value(size).text(" there")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_axis_the_sizes_and_the_type_to_write() {
        let m = join("concat", ["a", "c", "out"], 1, &[2, 3], [3, 2, 4]);
        assert_eq!(
            m.as_str(),
            "`concat` along axis 1: `a` has 3 and `c` has 2 there, so `out` needs 5, not 4; make `out` a `Tensor2<2, 5>`"
        );
        let m = parts("split", ["x", "a", "c"], 0, &[5], [5, 2, 2]);
        assert_eq!(
            m.as_str(),
            "`split` along axis 0: `x` has 5 there, but `a` and `c` have 2 + 2 = 4; make `c` a `Tensor1<3>`"
        );
        let m = parts("split", ["x", "a", "c"], 0, &[5], [5, 6, 1]);
        assert!(
            m.as_str()
                .ends_with("`a` alone must have fewer than 5 there")
        );
        let m = window("slice", ["out", "x"], 1, [3, 2, 4]);
        assert_eq!(
            m.as_str(),
            "`slice` along axis 1: `out`'s 2 entries from `Start::<3>` end at 5, past the 4 of `x`; start at most at 2, or shorten `out` to 1 there"
        );
    }
}
