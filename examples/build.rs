//! Gives the examples the workspace's root directory as `WORKSPACE_DIR`, where they cache
//! datasets (`data/`) and write their pictures (`target/`), wherever they are run from.

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let workspace = std::path::Path::new(&manifest)
        .parent()
        .expect("examples/ sits inside the workspace");
    println!("cargo:rustc-env=WORKSPACE_DIR={}", workspace.display());
    println!("cargo:rerun-if-changed=build.rs");
}
