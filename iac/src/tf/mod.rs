//! Terraform: the repository's modules, their resource instances, and where each
//! setting's value is written.
//!
//! Terraform has no single file per resource: a memory size may sit in the resource,
//! in a variable's default, in a `.tfvars` file, in a module call's argument or in a
//! `for_each` map. [`Tf`] indexes every directory as a module, follows local module
//! sources from the root modules down, and expands `for_each` where its map can be
//! read from the code, so each resource *instance* gets its Terraform address and a
//! scope to evaluate its attributes in (`eval.rs`).

mod ecs;
pub(crate) mod eval;
pub(crate) mod patch;
mod provisioned;
pub(crate) mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body};
use hcl_edit::visit::{Visit, visit_traversal};

use crate::IacError;
use crate::edit::line_of;
use eval::{Site, Val};

/// One parsed `.tf` or `.tfvars` file.
#[derive(Debug)]
pub(crate) struct TfFile {
    pub(crate) path: String,
    pub(crate) dir: String,
    pub(crate) text: String,
    pub(crate) body: Body,
    pub(crate) is_vars: bool,
}

/// The repository's Terraform.
#[derive(Debug)]
pub(crate) struct Tf {
    pub(crate) files: Vec<TfFile>,
    /// Module directory → indices of its `.tf` files.
    pub(crate) modules: BTreeMap<String, Vec<usize>>,
    /// Root module directory → its variable files in Terraform's load order.
    pub(crate) var_files: BTreeMap<String, Vec<usize>>,
}

/// The scope an expression is evaluated in: its module directory, the module call
/// that instantiated it, and `each` inside a `for_each`.
#[derive(Clone, Debug)]
pub(crate) struct Scope<'a> {
    pub(crate) dir: String,
    pub(crate) frame: Option<Rc<Frame<'a>>>,
    pub(crate) each: Option<Rc<Each<'a>>>,
}

/// A module call on the path from a root module.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub(crate) file: usize,
    pub(crate) call: &'a Block,
    pub(crate) name: String,
    pub(crate) key: Option<String>,
    /// The scope of the calling module (with its `each`, for `for_each` calls).
    pub(crate) parent: Scope<'a>,
}

/// `each.key` and `each.value` of one `for_each` instance.
#[derive(Debug)]
pub(crate) struct Each<'a> {
    pub(crate) key: String,
    pub(crate) value: Site<'a>,
}

/// One instance of a resource.
#[derive(Clone, Debug)]
pub(crate) struct Instance<'a> {
    pub(crate) rtype: String,
    pub(crate) name: String,
    pub(crate) file: usize,
    pub(crate) block: &'a Block,
    pub(crate) scope: Scope<'a>,
    pub(crate) address: String,
    /// Why `for_each` could not be expanded, if it could not.
    pub(crate) unresolved: Option<String>,
}

impl Instance<'_> {
    /// The instance key, if it is one of several.
    pub(crate) fn key(&self) -> Option<&str> {
        self.scope.each.as_ref().map(|e| e.key.as_str())
    }
}

fn module_prefix(frame: Option<&Frame<'_>>) -> String {
    let Some(f) = frame else {
        return String::new();
    };
    let mut s = module_prefix(f.parent.frame.as_deref());
    s.push_str("module.");
    s.push_str(&f.name);
    if let Some(k) = &f.key {
        s.push_str(&format!("[\"{k}\"]"));
    }
    s.push('.');
    s
}

/// Parent directory of a relative path ("" for the repository root).
pub(crate) fn dir_of(path: &str) -> String {
    path.rfind('/')
        .map_or(String::new(), |i| path[..i].to_owned())
}

/// `base/rel` with `.` and `..` resolved; `None` if it leaves the repository.
fn join_dir(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl Tf {
    /// Parses every `.tf` and `.tfvars` file among `files`.
    pub(crate) fn load(
        files: &BTreeMap<String, String>,
        extra_var_files: &[String],
    ) -> Result<Tf, IacError> {
        let mut tf = Tf {
            files: Vec::new(),
            modules: BTreeMap::new(),
            var_files: BTreeMap::new(),
        };
        for (path, text) in files {
            let is_vars = path.ends_with(".tfvars");
            if !path.ends_with(".tf") && !is_vars {
                continue;
            }
            let body = hcl_edit::parser::parse_body(text).map_err(|e| {
                let loc = e.location();
                IacError::Parse {
                    file: path.clone(),
                    line: loc.line(),
                    col: loc.column(),
                    what: "HCL",
                    message: e.message().to_owned(),
                }
            })?;
            let dir = dir_of(path);
            let i = tf.files.len();
            if !is_vars {
                tf.modules.entry(dir.clone()).or_default().push(i);
            }
            tf.files.push(TfFile {
                path: path.clone(),
                dir,
                text: text.clone(),
                body,
                is_vars,
            });
        }
        // Terraform loads terraform.tfvars, then *.auto.tfvars in lexical order, then
        // -var-file files in the order given; later assignments win.
        let roots = tf.roots();
        for root in &roots {
            let in_dir = |p: &TfFile| p.is_vars && p.dir == *root;
            let mut order: Vec<usize> = Vec::new();
            order.extend((0..tf.files.len()).filter(|&i| {
                in_dir(&tf.files[i]) && file_name(&tf.files[i].path) == "terraform.tfvars"
            }));
            order.extend(
                (0..tf.files.len()).filter(|&i| {
                    in_dir(&tf.files[i]) && tf.files[i].path.ends_with(".auto.tfvars")
                }),
            );
            tf.var_files.insert(root.clone(), order);
        }
        for extra in extra_var_files {
            let Some(i) = tf.files.iter().position(|f| f.path == *extra && f.is_vars) else {
                return Err(IacError::VarFile {
                    path: extra.clone(),
                    why: "is not a .tfvars file of the repository".to_owned(),
                });
            };
            // A -var-file belongs to the root module whose folder holds it (envs/ beside
            // main.tf is usual), the nearest when roots nest.
            let dir = dir_of(extra);
            let root = roots
                .iter()
                .filter(|r| r.is_empty() || dir == **r || dir.starts_with(&format!("{r}/")))
                .max_by_key(|r| r.len());
            let Some(root) = root else {
                return Err(IacError::VarFile {
                    path: extra.clone(),
                    why: format!(
                        "is in no root module's folder (root modules: {})",
                        roots.join(", ")
                    ),
                });
            };
            tf.var_files
                .get_mut(root)
                .expect("every root has an entry")
                .push(i);
        }
        Ok(tf)
    }

    /// Module directories that no other module calls with a local source.
    pub(crate) fn roots(&self) -> Vec<String> {
        let mut called: BTreeSet<String> = BTreeSet::new();
        for (dir, files) in &self.modules {
            for &f in files {
                for call in self.files[f].body.get_blocks("module") {
                    if let Some(target) = self.local_source(dir, call) {
                        called.insert(target);
                    }
                }
            }
        }
        self.modules
            .keys()
            .filter(|d| !called.contains(*d))
            .cloned()
            .collect()
    }

    /// The directory a module call's `source` names, if it is a local path.
    fn local_source(&self, dir: &str, call: &Block) -> Option<String> {
        let Expression::String(s) = &call.body.get_attribute("source")?.value else {
            return None;
        };
        if !(s.starts_with("./") || s.starts_with("../")) {
            return None;
        }
        join_dir(dir, s)
    }

    /// Top-level blocks of a module directory with their files.
    pub(crate) fn blocks<'a>(
        &'a self,
        dir: &str,
        ident: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Block)> + 'a {
        let files = self.modules.get(dir).cloned().unwrap_or_default();
        files
            .into_iter()
            .flat_map(move |f| self.files[f].body.get_blocks(ident).map(move |b| (f, b)))
    }

    /// `variable "name"` of a module.
    pub(crate) fn variable(&self, dir: &str, name: &str) -> Option<(usize, &Block)> {
        self.blocks(dir, "variable")
            .find(|(_, b)| b.labels.first().is_some_and(|l| l.as_str() == name))
    }

    /// `name = …` inside any `locals` block of a module.
    pub(crate) fn local(&self, dir: &str, name: &str) -> Option<(usize, &Attribute)> {
        self.blocks(dir, "locals")
            .find_map(|(f, b)| b.body.get_attribute(name).map(|a| (f, a)))
    }

    /// How often `var.name` or `local.name` (`root` is "var" or "local") is referenced
    /// in the module at `dir`: once means only the expression being patched reads it.
    pub(crate) fn references(&self, dir: &str, root: &str, name: &str) -> usize {
        struct Count<'n> {
            root: &'n str,
            name: &'n str,
            n: usize,
        }
        impl Visit for Count<'_> {
            fn visit_traversal(&mut self, t: &hcl_edit::expr::Traversal) {
                if let Expression::Variable(v) = &t.expr
                    && v.as_str() == self.root
                    && let Some(op) = t.operators.first()
                    && let hcl_edit::expr::TraversalOperator::GetAttr(a) = op.value()
                    && a.as_str() == self.name
                {
                    self.n += 1;
                }
                visit_traversal(self, t);
            }
        }
        let mut c = Count { root, name, n: 0 };
        for &f in self.modules.get(dir).into_iter().flatten() {
            c.visit_body(&self.files[f].body);
        }
        c.n
    }

    /// Every resource instance reachable from the root modules.
    pub(crate) fn instances(&self) -> Vec<Instance<'_>> {
        let mut out = Vec::new();
        for root in self.roots() {
            let scope = Scope {
                dir: root,
                frame: None,
                each: None,
            };
            self.instances_in(&scope, 0, &mut out);
        }
        out
    }

    fn instances_in<'a>(&'a self, scope: &Scope<'a>, depth: usize, out: &mut Vec<Instance<'a>>) {
        if depth > 16 {
            return;
        }
        for (file, block) in self.blocks(&scope.dir, "resource") {
            let (Some(rtype), Some(name)) = (block.labels.first(), block.labels.get(1)) else {
                continue;
            };
            let base = Scope {
                dir: scope.dir.clone(),
                frame: scope.frame.clone(),
                each: None,
            };
            let prefix = module_prefix(scope.frame.as_deref());
            let address = format!("{prefix}{}.{}", rtype.as_str(), name.as_str());
            let inst = |scope: Scope<'a>, address: String, unresolved: Option<String>| Instance {
                rtype: rtype.as_str().to_owned(),
                name: name.as_str().to_owned(),
                file,
                block,
                scope,
                address,
                unresolved,
            };
            match self.expand_for_each(file, block, &base) {
                Expansion::Single => out.push(inst(base, address, None)),
                Expansion::Keys(items) => {
                    for (key, value) in items {
                        let s = Scope {
                            each: Some(Rc::new(Each {
                                key: key.clone(),
                                value,
                            })),
                            ..base.clone()
                        };
                        out.push(inst(s, format!("{address}[\"{key}\"]"), None));
                    }
                }
                Expansion::Unresolved(why) => out.push(inst(base, address, Some(why))),
            }
        }
        for (file, call) in self.blocks(&scope.dir, "module") {
            let Some(name) = call.labels.first() else {
                continue;
            };
            // Remote sources are reported once by `remote_modules`.
            let Some(target) = self.local_source(&scope.dir, call) else {
                continue;
            };
            let frames: Vec<(Option<String>, Option<Rc<Each<'a>>>)> =
                match self.expand_for_each(file, call, scope) {
                    Expansion::Single | Expansion::Unresolved(_) => vec![(None, None)],
                    Expansion::Keys(items) => items
                        .into_iter()
                        .map(|(k, v)| (Some(k.clone()), Some(Rc::new(Each { key: k, value: v }))))
                        .collect(),
                };
            for (key, each) in frames {
                let parent = Scope {
                    dir: scope.dir.clone(),
                    frame: scope.frame.clone(),
                    each: each.or_else(|| scope.each.clone()),
                };
                let frame = Frame {
                    file,
                    call,
                    name: name.as_str().to_owned(),
                    key,
                    parent,
                };
                let child = Scope {
                    dir: target.clone(),
                    frame: Some(Rc::new(frame)),
                    each: None,
                };
                self.instances_in(&child, depth + 1, out);
            }
        }
    }

    /// Module calls whose source is not a local path: their resources are not searched.
    pub(crate) fn remote_modules(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (dir, files) in &self.modules {
            for &f in files {
                for call in self.files[f].body.get_blocks("module") {
                    if self.local_source(dir, call).is_none()
                        && let Some(name) = call.labels.first()
                    {
                        let (line, _) =
                            line_of(&self.files[f].text, call.span().map_or(0, |s| s.start));
                        out.push(format!(
                            "{}:{line}: module.{} has a non-local source; resources inside it are not searched",
                            self.files[f].path,
                            name.as_str()
                        ));
                    }
                }
            }
        }
        out
    }

    fn expand_for_each<'a>(
        &'a self,
        file: usize,
        block: &'a Block,
        scope: &Scope<'a>,
    ) -> Expansion<'a> {
        let Some(attr) = block.body.get_attribute("for_each") else {
            return Expansion::Single;
        };
        let site = Site {
            file,
            expr: &attr.value,
            scope: scope.clone(),
        };
        let (line, _) = line_of(&self.files[file].text, attr.span().map_or(0, |s| s.start));
        let at = format!("{}:{line}", self.files[file].path);
        match self.eval(&site).val {
            Val::Obj(entries) => Expansion::Keys(entries),
            Val::Tuple(items) => {
                let mut keys = Vec::new();
                for item in items {
                    match self.eval(&item).val {
                        Val::Str(s) => keys.push((s, item)),
                        other => {
                            return Expansion::Unresolved(format!(
                                "for_each at {at} has an element adaptd cannot read ({})",
                                other.describe()
                            ));
                        }
                    }
                }
                Expansion::Keys(keys)
            }
            Val::Unknown(why) => {
                Expansion::Unresolved(format!("for_each at {at} cannot be resolved: {why}"))
            }
            other => Expansion::Unresolved(format!(
                "for_each at {at} is not a map or set ({})",
                other.describe()
            )),
        }
    }

    /// The root module of an instance (where generated files go).
    pub(crate) fn root_dir(scope: &Scope<'_>) -> String {
        let mut s = scope.clone();
        while let Some(f) = s.frame.clone() {
            s = f.parent.clone();
        }
        s.dir
    }
}

enum Expansion<'a> {
    Single,
    Keys(Vec<(String, Site<'a>)>),
    Unresolved(String),
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A valid Terraform identifier made from a component name ("search-api" →
/// "search_api").
pub(crate) fn ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    s
}
