//! `fieldbook-wasm-bindgen <input.wasm> <out dir>`: what
//! `wasm-bindgen --target web --no-typescript --remove-name-section
//! --remove-producers-section --out-dir <out dir> <input.wasm>` does, with the
//! CLI's defaults for everything else.

use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir] = args.as_slice() else {
        eprintln!("usage: fieldbook-wasm-bindgen <input.wasm> <out dir>");
        return ExitCode::from(2);
    };
    let generated = Bindgen::new().input_path(input).web(true).and_then(|b| {
        b.typescript(false)
            // The names section is a third of the module and only helps
            // debugging: kept only when asked for, to profile
            // (`FIELDBOOK_WASM_NAMES=1 cargo xtask dist`, then
            // `book-bench --profile`).
            .remove_name_section(std::env::var_os("FIELDBOOK_WASM_NAMES").is_none())
            .remove_producers_section(true)
            // The CLI's default, not the library's: the JS finds the
            // module beside itself.
            .omit_default_module_path(false)
            .generate(out_dir)
    });
    match generated {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm-bindgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
