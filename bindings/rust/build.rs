// build.rs: finds libestoria for the link, in this order:
//   1. ESTORIA_LIB_DIR: a directory holding libestoria.so (a build tree's
//      capi/ directory, or an install's lib/);
//   2. pkg-config `estoria` (estoria.pc; PKG_CONFIG_PATH may point at a
//      build tree's pkgconfig/ directory).
// It also emits an rpath to that directory for this package's own tests,
// examples and benches, so that they run without LD_LIBRARY_PATH.
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn pkg_config(args: &[&str]) -> Option<String> {
    let out = Command::new(env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()))
        .args(args)
        .arg("estoria")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=ESTORIA_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-changed=build.rs");

    let lib_dir: PathBuf = match env::var_os("ESTORIA_LIB_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match pkg_config(&["--variable=libdir"]) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => panic!(
                "estoria: libestoria not found. Set ESTORIA_LIB_DIR to the directory holding \
                 libestoria.so (e.g. build/release/capi), or PKG_CONFIG_PATH to one holding \
                 estoria.pc (e.g. build/release/pkgconfig)."
            ),
        },
    };
    if !lib_dir.join("libestoria.so").exists() && !lib_dir.join("libestoria.dylib").exists() {
        println!("cargo:warning=estoria: {} holds no libestoria.so; the link may fail", lib_dir.display());
    }
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=dylib=estoria");
    // Tests, examples and benches of this package find the library at run
    // time without LD_LIBRARY_PATH. (Crates depending on this one set their
    // own rpath or install the library where the loader looks.)
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    // For dependents' build scripts (DEP_ESTORIA_LIB_DIR).
    println!("cargo:lib_dir={}", lib_dir.display());
}
