//! `#[budget(ram = "64 KiB", flash = "256 KiB")]`: a baked network over its budget is a compile
//! error. RAM is the work arena (`WORK_LEN` `f32`s; the input array, the stack of the calls and
//! the output's use are the program's), flash the baked weights (`WEIGHT_BYTES`; the code is
//! not counted).

use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Lit, MetaNameValue, Token};

use super::memory::Memory;
use crate::ast::Network;
use crate::ctxt::Ctxt;

/// The units a budget takes, and their bytes.
const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("kB", 1000),
    ("KB", 1000),
    ("MB", 1_000_000),
];

/// One limit: its bytes and how the user wrote it.
pub struct Limit {
    pub bytes: u64,
    pub text: String,
}

/// A declaration's budget.
pub struct Budget {
    pub ram: Option<Limit>,
    pub flash: Option<Limit>,
    pub attr: Attribute,
}

const USAGE: &str = "`#[budget(..)]` takes `ram = \"..\"` and `flash = \"..\"`, e.g. `#[budget(ram = \"64 KiB\", flash = \"256 KiB\")]`";

/// Reads `#[budget(ram = "64 KiB", flash = "256 KiB")]`.
pub fn parse(attr: &Attribute) -> syn::Result<Budget> {
    let pairs = attr
        .parse_args_with(Punctuated::<MetaNameValue, Token![,]>::parse_terminated)
        .map_err(|e| syn::Error::new(e.span(), format!("{e}; {USAGE}")))?;
    let mut budget = Budget {
        ram: None,
        flash: None,
        attr: attr.clone(),
    };
    for pair in pairs {
        let key = pair.path.get_ident().map(ToString::to_string);
        let slot = match key.as_deref() {
            Some("ram") => &mut budget.ram,
            Some("flash") => &mut budget.flash,
            _ => return Err(syn::Error::new_spanned(&pair.path, USAGE)),
        };
        let Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) = &pair.value
        else {
            return Err(syn::Error::new_spanned(&pair.value, USAGE));
        };
        if slot.is_some() {
            return Err(syn::Error::new_spanned(
                &pair.path,
                "this budget is given twice; give it once",
            ));
        }
        let bytes = bytes(&text.value()).map_err(|e| syn::Error::new_spanned(text, e))?;
        *slot = Some(Limit {
            bytes,
            text: format!(
                "{} = \"{}\"",
                pair.path
                    .get_ident()
                    .map_or(String::new(), ToString::to_string),
                text.value()
            ),
        });
    }
    Ok(budget)
}

/// `"64 KiB"` in bytes.
fn bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let units: Vec<String> = UNITS.iter().map(|(u, _)| format!("`{u}`")).collect();
    let Ok(number) = number.replace('_', "").parse::<u64>() else {
        return Err(format!(
            "a budget is a whole number and a unit, e.g. \"64 KiB\", not \"{text}\"; the units are {}",
            units.join(", ")
        ));
    };
    let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "unknown unit `{unit}` in \"{text}\"; the units are {}",
            units.join(", ")
        ));
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("the budget \"{text}\" is too large"))
}

/// Rule: the baked network fits its budget. `weights` are each layer's weight bytes.
pub fn check(
    budget: &Budget,
    network: &Network,
    memory: &Memory,
    weight_bytes: usize,
    weights: &[(String, usize)],
    value_bytes: usize,
    ctxt: &Ctxt,
) -> Option<()> {
    let name = &network.name;
    let mut ok = true;
    let ram = (memory.work_len * value_bytes) as u64;
    if let Some(limit) = &budget.ram
        && ram > limit.bytes
    {
        let largest = memory.buffers.iter().max_by_key(|b| b.len);
        let largest = largest.map_or(String::new(), |b| {
            format!(
                "; the largest buffer is {}, {} bytes",
                b.label,
                b.len * value_bytes
            )
        });
        ctxt.error(
            &budget.attr,
            format!(
                "`{name}`'s baked work arena is {ram} bytes (`WORK_LEN` = {} {}), over its budget `{}` ({} bytes){largest}",
                memory.work_len,
                if value_bytes == 1 { "i8" } else { "f32" },
                limit.text,
                limit.bytes
            ),
        );
        ok = false;
    }
    if let Some(limit) = &budget.flash
        && weight_bytes as u64 > limit.bytes
    {
        let largest = weights.iter().max_by_key(|(_, bytes)| *bytes);
        let largest = largest.map_or(String::new(), |(layer, bytes)| {
            format!("; the largest is {layer}'s, {bytes} bytes")
        });
        ctxt.error(
            &budget.attr,
            format!(
                "`{name}`'s baked weights are {weight_bytes} bytes (`WEIGHT_BYTES`), over its budget `{}` ({} bytes){largest}",
                limit.text, limit.bytes
            ),
        );
        ok = false;
    }
    ok.then_some(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn units() {
        assert_eq!(super::bytes("64 KiB"), Ok(65_536));
        assert_eq!(super::bytes("256KiB"), Ok(262_144));
        assert_eq!(super::bytes("1_000 B"), Ok(1000));
        assert_eq!(super::bytes("2 MB"), Ok(2_000_000));
        let unknown = super::bytes("64 KiBs").unwrap_err();
        assert!(unknown.starts_with("unknown unit `KiBs`"), "{unknown}");
        assert!(unknown.contains("`KiB`, `MiB`"), "{unknown}");
        assert!(super::bytes("lots").is_err());
        assert!(super::bytes("99999999999999999999 MiB").is_err());
    }
}
