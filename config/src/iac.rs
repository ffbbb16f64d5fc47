//! `[iac]`: where the infrastructure code is, how components map to its resources, and
//! how `adaptd iac write` commits. Names and tags find most resources; a mapping is for
//! the ones they cannot (a function named by a computed expression, a template whose
//! functions carry no tags).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::check::Check;
use crate::spans::{index, join};

/// The `[iac]` section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IacSection {
    /// Repository of the infrastructure code, relative to the working directory
    /// (default none: `adaptd iac` then needs `--repo`).
    pub repo: Option<String>,
    /// Folders of the repository to read, relative to it (default `["."]`, all of it).
    pub paths: Vec<String>,
    /// `.tfvars` files (relative to the repository) that set the deployed values, in
    /// `-var-file` order, besides `terraform.tfvars` and `*.auto.tfvars`, which are
    /// always read (default none).
    pub var_files: Vec<String>,
    /// Tag keys whose value is a component's name (default `["adaptd:component",
    /// "Component"]`).
    pub tag_keys: Vec<String>,
    /// Folder (relative to the repository) for generated migration modules (default
    /// `"adaptd-migrations"`).
    pub migrations_dir: String,
    /// Branch `adaptd iac write --branch` creates when given no name (default
    /// `"adaptd/iac"`).
    pub branch: String,
    /// First words of the commit subject (default `"adaptd:"`).
    pub commit_prefix: String,
    /// Components that names and tags do not find.
    pub components: Vec<IacComponent>,
}

impl Default for IacSection {
    fn default() -> Self {
        Self {
            repo: None,
            paths: vec![".".to_owned()],
            var_files: Vec::new(),
            tag_keys: vec!["adaptd:component".to_owned(), "Component".to_owned()],
            migrations_dir: "adaptd-migrations".to_owned(),
            branch: "adaptd/iac".to_owned(),
            commit_prefix: "adaptd:".to_owned(),
            components: Vec::new(),
        }
    }
}

/// Where one component's resources are, the `[[iac.components]]` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IacComponent {
    /// Component name (required, unique).
    pub name: String,
    /// Terraform resource addresses, as `terraform state list` prints them
    /// (`"module.search.aws_lambda_function.this"`, `"aws_lambda_function.fn[\"auth\"]"`).
    pub terraform: Vec<String>,
    /// CloudFormation resources as `"FILE#LogicalId"` (`"sam/template.yaml#Checkout"`).
    pub cloudformation: Vec<String>,
    /// The deployed function or service name, when it is not the component's name.
    pub function_name: Option<String>,
}

/// Whether `s` is a relative path inside the repository.
fn inside(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('/') && !s.split('/').any(|p| p == "..")
}

/// Whether git accepts `s` as a branch name (the rules of `git check-ref-format`
/// that a config value can break).
fn valid_branch(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['-', '/'])
        && !s.ends_with(['/', '.'])
        && !s.ends_with(".lock")
        && !s.contains("..")
        && !s.contains("//")
        && !s.contains("@{")
        && !s
            .chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
}

/// Whether `s` looks like a Terraform resource address.
fn valid_address(s: &str) -> bool {
    let mut rest = s;
    while let Some(r) = rest.strip_prefix("module.") {
        let Some(dot) = r.find('.') else { return false };
        rest = &r[dot + 1..];
    }
    let mut parts = rest.splitn(2, '.');
    let (Some(rtype), Some(name)) = (parts.next(), parts.next()) else {
        return false;
    };
    let name = name.split('[').next().unwrap_or("");
    rtype.contains('_')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl IacSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        if let Some(repo) = &self.repo
            && repo.trim().is_empty()
        {
            ck.err(&join(path, "repo"), "must not be empty");
        }
        for (i, p) in self.paths.iter().enumerate() {
            if !(p == "." || inside(p)) {
                ck.err(
                    &index(&join(path, "paths"), i),
                    format!("must be a folder inside the repository (got \"{p}\")"),
                );
            }
        }
        for (i, f) in self.var_files.iter().enumerate() {
            let at = index(&join(path, "var_files"), i);
            if !inside(f) {
                ck.err(
                    &at,
                    format!("must be a path inside the repository (got \"{f}\")"),
                );
            } else if !f.ends_with(".tfvars") {
                ck.err(&at, format!("must be a .tfvars file (got \"{f}\")"));
            }
        }
        for (i, k) in self.tag_keys.iter().enumerate() {
            if k.trim().is_empty() {
                ck.err(&index(&join(path, "tag_keys"), i), "must not be empty");
            }
        }
        if !inside(&self.migrations_dir) {
            ck.err(
                &join(path, "migrations_dir"),
                format!(
                    "must be a folder inside the repository (got \"{}\")",
                    self.migrations_dir
                ),
            );
        }
        if !valid_branch(&self.branch) {
            ck.err(
                &join(path, "branch"),
                format!("is not a valid git branch name (got \"{}\")", self.branch),
            );
        }
        let list = join(path, "components");
        crate::resources::unique_names(
            &list,
            "iac component",
            self.components.iter().map(|c| c.name.as_str()),
            ck,
        );
        for (i, c) in self.components.iter().enumerate() {
            let p = index(&list, i);
            if c.terraform.is_empty() && c.cloudformation.is_empty() && c.function_name.is_none() {
                ck.err(
                    &p,
                    "needs at least one of terraform, cloudformation or function_name",
                );
            }
            for (j, a) in c.terraform.iter().enumerate() {
                if !valid_address(a) {
                    ck.err(
                        &index(&join(&p, "terraform"), j),
                        format!(
                            "is not a resource address like \
                             \"module.NAME.aws_lambda_function.NAME\" (got \"{a}\")"
                        ),
                    );
                }
            }
            for (j, r) in c.cloudformation.iter().enumerate() {
                let ok = r
                    .split_once('#')
                    .is_some_and(|(f, id)| inside(f) && !id.is_empty());
                if !ok {
                    ck.err(
                        &index(&join(&p, "cloudformation"), j),
                        format!("must be \"FILE#LogicalId\" with FILE inside the repository (got \"{r}\")"),
                    );
                }
            }
            if let Some(f) = &c.function_name
                && f.trim().is_empty()
            {
                ck.err(&join(&p, "function_name"), "must not be empty");
            }
        }
    }

    /// Mappings by component name.
    pub fn mappings(&self) -> BTreeMap<&str, &IacComponent> {
        self.components
            .iter()
            .map(|c| (c.name.as_str(), c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_of_the_section_is_reported_at_its_place() {
        let text = r#"
[iac]
paths = ["../outside"]
var_files = ["envs/prod.tfvar", "/abs.tfvars"]
tag_keys = [""]
migrations_dir = "../up"
branch = "has space"

[[iac.components]]
name = "a"
terraform = ["aws_lambda_function"]
cloudformation = ["template.yaml"]

[[iac.components]]
name = "a"

[[iac.components]]
name = "b"
colour = "red"
"#;
        let errors = crate::Config::from_str(text, "t.toml")
            .unwrap_err()
            .to_string();
        for want in [
            "t.toml:3:10: iac.paths[0]: must be a folder inside the repository (got \"../outside\")",
            "t.toml:4:14: iac.var_files[0]: must be a .tfvars file (got \"envs/prod.tfvar\")",
            "t.toml:4:33: iac.var_files[1]: must be a path inside the repository",
            "t.toml:5:13: iac.tag_keys[0]: must not be empty",
            "t.toml:6:18: iac.migrations_dir: must be a folder inside the repository",
            "t.toml:7:10: iac.branch: is not a valid git branch name (got \"has space\")",
            "t.toml:11:14: iac.components[0].terraform[0]: is not a resource address",
            "t.toml:12:19: iac.components[0].cloudformation[0]: must be \"FILE#LogicalId\"",
            "t.toml:15:8: iac.components[1].name: duplicate iac component name `a` (first defined at line 10)",
            "iac.components[1]: needs at least one of terraform, cloudformation or function_name",
            "t.toml:19:1: iac.components[2].colour: unknown key (expected one of: name, terraform, cloudformation, function_name)",
        ] {
            assert!(errors.contains(want), "missing `{want}` in:\n{errors}");
        }
    }

    #[test]
    fn an_empty_section_takes_the_documented_defaults() {
        let c = crate::Config::from_str("[iac]\n", "t.toml").unwrap();
        assert_eq!(c.iac, IacSection::default());
        assert_eq!(c.iac.branch, "adaptd/iac");
        assert_eq!(c.iac.paths, ["."]);
    }

    #[test]
    fn addresses_and_branches_follow_terraform_and_git() {
        assert!(valid_address("aws_lambda_function.fn"));
        assert!(valid_address(
            "module.a.module.b.aws_lambda_function.fn[\"x\"]"
        ));
        assert!(!valid_address("aws_lambda_function"));
        assert!(!valid_address("module.a"));
        assert!(valid_branch("adaptd/iac-2026-11"));
        assert!(!valid_branch("adaptd iac"));
        assert!(!valid_branch("a..b"));
        assert!(!valid_branch("-x"));
    }
}
