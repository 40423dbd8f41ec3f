//! Links the `controlroom` executable position-dependent (`-no-pie`) on Linux, so its
//! relocated data is not rewritten in every process at start: a PIE's loader writes every
//! pointer of `.data.rel.ro` and the GOT (hundreds of KiB in a binary of this size), and those
//! pages become private memory of each process — of every idle holder too (ARCHITECTURE.md,
//! "Holder memory"). Position-dependent, they stay clean pages of the file, shared by the
//! gateway and all its holders. The cost: the executable's own image loads at a fixed address
//! (libraries, heap, stacks and mappings stay randomized). `CONTROLROOM_PIE=1` at build time
//! keeps the default PIE link.

fn main() {
    println!("cargo::rerun-if-env-changed=CONTROLROOM_PIE");
    println!("cargo::rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let keep_pie = std::env::var("CONTROLROOM_PIE").is_ok_and(|v| v == "1");
    if linux && !keep_pie {
        // After rustc's own `-pie`: the later of the two wins. The objects stay PIC (nothing
        // else is rebuilt); only this link changes.
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
