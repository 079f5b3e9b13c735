//! The text files relpack writes, from templates embedded in the binary
//! (`templates/` in the source tree).
//!
//! Jinja's default comment marker `{#` would break shell code such as
//! `${#VAR}`, so comments are `{## ... ##}` here.

use minijinja::{context, Environment};

use crate::error::{Error, Result};
use crate::vocab::Toolchain;

const TEMPLATES: &[(&str, &str)] = &[
    ("launcher.sh", include_str!("../../templates/launcher.sh")),
    ("erl.sh", include_str!("../../templates/erl.sh")),
    ("vm.args", include_str!("../../templates/vm.args")),
    (
        "rel_config.exs",
        include_str!("../../templates/rel_config.exs"),
    ),
    ("rel_vm.args", include_str!("../../templates/rel_vm.args")),
    (
        "executable.sh",
        include_str!("../../templates/executable.sh"),
    ),
];

/// The launcher of release `rel_name`, for the Elixir and OTP it bundles:
/// IEx shells and Elixir expressions or, for a release without Elixir,
/// Erlang shells and expressions.
pub fn launcher(rel_name: &str, toolchain: &Toolchain) -> Result<String> {
    let erlang_only = toolchain.elixir.is_none();
    let (language, shell_name, shell_args, example_expr) = match toolchain.iex_user() {
        None => (
            "Erlang",
            "an Erlang shell",
            "-user user_drv".to_owned(),
            "node()",
        ),
        Some(user) => {
            // From Elixir 1.15, `-user elixir` starts the CLI itself.
            let cli = if toolchain.iex_starts_cli() {
                " -s elixir start_cli"
            } else {
                ""
            };
            (
                "Elixir",
                "an IEx shell",
                format!("-user {user}{cli} -extra --no-halt +iex"),
                "IO.puts(node())",
            )
        }
    };
    let reboot_mode_flag = toolchain.reboot_mode_flag();
    render_with(
        "launcher.sh",
        context! {
            rel_name, erlang_only, language, shell_name, shell_args, example_expr,
            reboot_mode_flag
        },
    )
}

/// Renders template `name` for release `rel_name`.
pub fn render(name: &str, rel_name: &str) -> Result<String> {
    render_with(name, context! { rel_name => rel_name })
}

/// Renders template `name` with the values in `ctx`.
pub fn render_with(name: &str, ctx: minijinja::Value) -> Result<String> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .comment_delimiters("{##", "##}")
        .keep_trailing_newline(true)
        .build()
        .map_err(template_error)?;
    env.set_syntax(syntax);
    let source = TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| Error::System(format!("relpack has no template named {name}")))?;
    env.add_template(name, source).map_err(template_error)?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(template_error)
}

fn template_error(e: minijinja::Error) -> Error {
    Error::System(format!("template: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_template() {
        for (name, _) in TEMPLATES {
            let text = render(name, "my_app").unwrap();
            assert!(text.ends_with('\n'), "{name} lost its final newline");
            assert!(!text.contains("{{"), "{name} has unrendered tags");
        }
        assert!(launcher("my_app", &Toolchain::new(Some("1.14.0"), 25))
            .unwrap()
            .contains("RELEASE_NAME:-my_app}"));
    }

    #[test]
    fn iex_starts_as_the_bundled_elixir_starts_it() {
        let old = launcher("my_app", &Toolchain::new(Some("1.14.0"), 25)).unwrap();
        assert!(
            old.contains("-user Elixir.IEx.CLI -s elixir start_cli -extra --no-halt +iex --remsh")
        );
        assert!(old.contains("-elixir -config_provider_reboot_mode $RELEASE_MODE"));
        let new = launcher("my_app", &Toolchain::new(Some("1.18.3"), 27)).unwrap();
        assert!(!new.contains("IEx.CLI"), "IEx.CLI.start/0 is gone in 1.15");
        assert!(new.contains("-user elixir -extra --no-halt +iex --remsh"));
        assert!(new.contains("-elixir config_provider_reboot_mode $RELEASE_MODE"));
    }

    #[test]
    fn erlang_launcher_needs_no_elixir() {
        let text = launcher("erl_app", &Toolchain::new(None, 25)).unwrap();
        for elixir in ["start_cli", "Elixir.", "--eval", "+iex"] {
            assert!(!text.contains(elixir), "{elixir} in the Erlang launcher");
        }
        assert!(text.contains("-user user_drv -remsh"));
    }
}
