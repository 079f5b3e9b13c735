//! The EEx that release templates use (`rel/vm.args.eex`, `rel/env.sh.eex`,
//! Distillery's `vm_args` and `{:template, ...}` overlays): `<%= name %>`
//! and `<%= @release.name %>` substitutions and `<%# comments %>`. Any
//! other EEx code is an error naming its line, never copied through.

use std::path::Path;

use crate::error::{Error, Result};

/// Reads the template at `path` and renders it with `vars`.
pub fn render_file(path: &Path, vars: &[(String, String)]) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        action: "cannot read the template",
        source,
    })?;
    render(path, &text, vars)
}

/// Renders `text` (read from `path`) with `vars`; a variable is found
/// under `name`, `@name` and `@release.name`.
pub fn render(path: &Path, text: &str, vars: &[(String, String)]) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<%") {
        out.push_str(&rest[..start]);
        let line = text[..text.len() - rest.len() + start]
            .matches('\n')
            .count()
            + 1;
        let tag = &rest[start + 2..];
        let end = tag.find("%>").ok_or_else(|| Error::Parse {
            path: path.to_owned(),
            line,
            message: "an EEx tag `<%` without its `%>`".into(),
        })?;
        let code = &tag[..end];
        if let Some(expr) = code.strip_prefix('=') {
            let expr = expr.trim();
            let name = expr
                .strip_prefix("@release.")
                .or_else(|| expr.strip_prefix('@'))
                .unwrap_or(expr);
            let value = vars
                .iter()
                .find(|(k, _)| k == name)
                .ok_or_else(|| Error::Unsupported {
                    path: path.to_owned(),
                    line,
                    construct: format!(
                        "<%= {expr} %> (relpack knows {})",
                        vars.iter()
                            .map(|(k, _)| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    hint: "",
                })?;
            out.push_str(&value.1);
        } else if !code.starts_with('#') {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                line,
                construct: format!("EEx code <%{code}%>"),
                hint: "",
            });
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_rejects_code() {
        let vars = vec![
            ("name".to_owned(), "web".to_owned()),
            ("version".to_owned(), "1.0".to_owned()),
        ];
        let p = Path::new("vm.args.eex");
        assert_eq!(
            render(
                p,
                "-sname <%= @release.name %><%# c %> <%= version %>\n",
                &vars
            )
            .unwrap(),
            "-sname web 1.0\n"
        );
        let err = render(p, "a\n<% if true do %>", &vars)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vm.args.eex:2:"), "{err}");
    }
}
