//! A small evaluator of Terraform expressions that remembers where a value is written.
//!
//! Patching `memory_size = var.memory` must change the `.tfvars` line or the default
//! that gives `var.memory` its value, so evaluation returns, with the value, its
//! [`Origin`]: the literal's span, or the module call that should receive a new
//! argument. Only what can be known from the code without Terraform is evaluated
//! (literals, variables, locals, `each`, object and index access, references to other
//! resources' literal attributes, `toset`/`tomap`); anything else is
//! [`Val::Unknown`] with the reason, which becomes the reason of a suggestion.

use std::ops::Range;
use std::rc::Rc;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::Element;

use super::{Each, Scope, Tf};
use crate::edit::line_of;

/// An expression and the scope to evaluate it in.
#[derive(Clone, Debug)]
pub(crate) struct Site<'a> {
    pub(crate) file: usize,
    pub(crate) expr: &'a Expression,
    pub(crate) scope: Scope<'a>,
}

/// A value, as far as the code tells.
#[derive(Clone, Debug)]
pub(crate) enum Val<'a> {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Obj(Vec<(String, Site<'a>)>),
    Tuple(Vec<Site<'a>>),
    /// An attribute only AWS knows (`aws_lambda_function.x.arn`), by address.
    Ref(String),
    Unknown(String),
}

impl Val<'_> {
    pub(crate) fn describe(&self) -> String {
        match self {
            Val::Str(s) => format!("\"{s}\""),
            Val::Num(n) => format!("{n}"),
            Val::Bool(b) => b.to_string(),
            Val::Null => "null".to_owned(),
            Val::Obj(_) => "an object".to_owned(),
            Val::Tuple(_) => "a list".to_owned(),
            Val::Ref(r) => r.clone(),
            Val::Unknown(why) => why.clone(),
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Where a value is written, which is what a patch replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A literal at `span` of file `file`.
    Literal { file: usize, span: Range<usize> },
    /// A child module's variable default that its call does not override: the call is
    /// where the new value belongs, as an argument named `key`.
    Argument {
        file: usize,
        call: Range<usize>,
        key: String,
    },
    /// Not written anywhere as one literal (a template, a function call).
    Computed,
}

/// A value with its origin and the indirections that led to it.
#[derive(Clone, Debug)]
pub(crate) struct Evaled<'a> {
    pub(crate) val: Val<'a>,
    pub(crate) origin: Origin,
    /// "var.memory in terraform.tfvars", outermost first.
    pub(crate) via: Vec<String>,
    /// Why changing the origin would change more than this value.
    pub(crate) shared: Option<String>,
}

impl<'a> Evaled<'a> {
    fn new(val: Val<'a>, origin: Origin) -> Self {
        Self {
            val,
            origin,
            via: Vec::new(),
            shared: None,
        }
    }

    fn unknown(why: impl Into<String>) -> Self {
        Self::new(Val::Unknown(why.into()), Origin::Computed)
    }

    /// `self` reached through `step`, which may be shared.
    fn through(mut self, step: String, shared: Option<String>) -> Self {
        self.via.insert(0, step);
        if self.shared.is_none() {
            self.shared = shared;
        }
        self
    }
}

const MAX_DEPTH: usize = 32;

impl Tf {
    /// `file:line` of byte `offset` of file `file`.
    pub(crate) fn at(&self, file: usize, offset: usize) -> String {
        let (line, _) = line_of(&self.files[file].text, offset);
        format!("{}:{line}", self.files[file].path)
    }

    /// The source text of an expression, for messages.
    pub(crate) fn text_of(&self, file: usize, expr: &Expression) -> String {
        expr.span()
            .and_then(|s| self.files[file].text.get(s))
            .unwrap_or("?")
            .to_owned()
    }

    pub(crate) fn eval<'a>(&'a self, site: &Site<'a>) -> Evaled<'a> {
        self.eval_at(site, 0)
    }

    fn eval_at<'a>(&'a self, site: &Site<'a>, depth: usize) -> Evaled<'a> {
        if depth > MAX_DEPTH {
            return Evaled::unknown("references nest too deeply (a cycle?)");
        }
        let lit = |val: Val<'a>| {
            let origin = match site.expr.span() {
                Some(span) => Origin::Literal {
                    file: site.file,
                    span,
                },
                None => Origin::Computed,
            };
            Evaled::new(val, origin)
        };
        let sub = |expr: &'a Expression| Site {
            file: site.file,
            expr,
            scope: site.scope.clone(),
        };
        match site.expr {
            Expression::Number(n) => {
                lit(n.as_f64().map_or(Val::Unknown("a number".into()), Val::Num))
            }
            Expression::String(s) => lit(Val::Str(s.value().clone())),
            Expression::Bool(b) => lit(Val::Bool(*b.value())),
            Expression::Null(_) => lit(Val::Null),
            Expression::Array(a) => lit(Val::Tuple(a.iter().map(sub).collect())),
            Expression::Object(o) => {
                let entries = o
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_owned(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                            ObjectKey::Expression(_) => return None,
                        };
                        Some((key, sub(v.expr())))
                    })
                    .collect();
                lit(Val::Obj(entries))
            }
            Expression::Parenthesis(p) => self.eval_at(&sub(p.inner()), depth + 1),
            Expression::StringTemplate(t) => {
                let elements: Vec<&Element> = t.iter().collect();
                if let [Element::Interpolation(i)] = elements.as_slice() {
                    return self.eval_at(&sub(&i.expr), depth + 1);
                }
                let mut out = String::new();
                for e in elements {
                    match e {
                        Element::Literal(l) => out.push_str(l.value()),
                        Element::Interpolation(i) => {
                            match self.eval_at(&sub(&i.expr), depth + 1).val {
                                Val::Str(s) => out.push_str(&s),
                                Val::Num(n) => out.push_str(&n.to_string()),
                                other => {
                                    return Evaled::unknown(format!(
                                        "template `{}` interpolates {}",
                                        self.text_of(site.file, site.expr),
                                        other.describe()
                                    ));
                                }
                            }
                        }
                        Element::Directive(_) => {
                            return Evaled::unknown(format!(
                                "template `{}` has a directive",
                                self.text_of(site.file, site.expr)
                            ));
                        }
                    }
                }
                Evaled::new(Val::Str(out), Origin::Computed)
            }
            Expression::FuncCall(f) => {
                let name = f.name.name.as_str();
                let args: Vec<&Expression> = f.args.iter().collect();
                match (name, args.as_slice()) {
                    ("toset" | "tomap" | "tolist", [arg]) => self.eval_at(&sub(arg), depth + 1),
                    _ => Evaled::unknown(format!(
                        "`{}` is computed by Terraform",
                        self.text_of(site.file, site.expr)
                    )),
                }
            }
            Expression::Traversal(t) => {
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
                self.traversal(site, &t.expr, &ops, depth)
            }
            Expression::Variable(v) => {
                Evaled::unknown(format!("`{}` is not a value adaptd can read", v.as_str()))
            }
            _ => Evaled::unknown(format!(
                "`{}` is computed by Terraform",
                self.text_of(site.file, site.expr)
            )),
        }
    }

    fn traversal<'a>(
        &'a self,
        site: &Site<'a>,
        root: &'a Expression,
        ops: &[&'a TraversalOperator],
        depth: usize,
    ) -> Evaled<'a> {
        let text = self.text_of(site.file, site.expr);
        let Expression::Variable(root) = root else {
            return Evaled::unknown(format!("`{text}` is computed by Terraform"));
        };
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str()),
            _ => None,
        };
        let (start, rest): (Evaled<'a>, &[&TraversalOperator]) = match (root.as_str(), attr(0)) {
            ("var", Some(name)) => (self.var(&site.scope, name, depth), &ops[1..]),
            ("local", Some(name)) => (self.local_value(&site.scope, name, depth), &ops[1..]),
            ("each", Some("key")) => match &site.scope.each {
                Some(e) => (
                    Evaled::new(Val::Str(e.key.clone()), Origin::Computed),
                    &ops[1..],
                ),
                None => return Evaled::unknown("each.key outside a for_each"),
            },
            ("each", Some("value")) => match &site.scope.each {
                Some(e) => (
                    self.eval_at(&e.value, depth + 1)
                        .through(format!("each.value of key \"{}\"", e.key), None),
                    &ops[1..],
                ),
                None => return Evaled::unknown("each.value outside a for_each"),
            },
            ("count" | "path" | "terraform" | "self", _) => {
                return Evaled::unknown(format!("`{text}` is known only to Terraform"));
            }
            ("data", _) => {
                return Evaled::unknown(format!("`{text}` is read from AWS at plan time"));
            }
            ("module", _) => return Evaled::unknown(format!("`{text}` is a module output")),
            (rtype, Some(name)) => match self.resource_ref(site, rtype, name, &ops[1..], depth) {
                Some(r) => return r,
                None => {
                    return Evaled::unknown(format!("`{text}` names no resource of this module"));
                }
            },
            _ => return Evaled::unknown(format!("`{text}` is computed by Terraform")),
        };
        self.apply_ops(start, rest, site, depth)
    }

    fn apply_ops<'a>(
        &'a self,
        mut cur: Evaled<'a>,
        ops: &[&'a TraversalOperator],
        site: &Site<'a>,
        depth: usize,
    ) -> Evaled<'a> {
        for op in ops {
            let key = match op {
                TraversalOperator::GetAttr(a) => Val::Str(a.as_str().to_owned()),
                TraversalOperator::Index(e) => {
                    self.eval_at(
                        &Site {
                            expr: e,
                            ..site.clone()
                        },
                        depth + 1,
                    )
                    .val
                }
                TraversalOperator::LegacyIndex(i) => Val::Num(*i.value() as f64),
                _ => return Evaled::unknown("a splat expression is computed by Terraform"),
            };
            let next = match (&cur.val, &key) {
                (Val::Obj(entries), Val::Str(k)) => match entries.iter().find(|(ek, _)| ek == k) {
                    Some((_, s)) => self.eval_at(s, depth + 1),
                    None => return Evaled::unknown(format!("the object has no key `{k}`")),
                },
                (Val::Tuple(items), Val::Num(n)) if *n >= 0.0 && (*n as usize) < items.len() => {
                    self.eval_at(&items[*n as usize], depth + 1)
                }
                (Val::Ref(r), Val::Str(k)) => {
                    Evaled::new(Val::Ref(format!("{r}.{k}")), Origin::Computed)
                }
                (Val::Unknown(_), _) => return cur,
                (v, k) => {
                    return Evaled::unknown(format!(
                        "cannot index {} with {}",
                        v.describe(),
                        k.describe()
                    ));
                }
            };
            let shared = cur.shared.take();
            let mut via = std::mem::take(&mut cur.via);
            via.extend(next.via);
            cur = Evaled {
                val: next.val,
                origin: next.origin,
                via,
                shared: shared.or(next.shared),
            };
        }
        cur
    }

    /// `var.name` in `scope`: the module call's argument, the tfvars assignment or the
    /// default.
    fn var<'a>(&'a self, scope: &Scope<'a>, name: &str, depth: usize) -> Evaled<'a> {
        let refs = self.references(&scope.dir, "var", name);
        let shared = (refs > 1).then(|| {
            format!(
                "var.{name} is read {refs} times in {}; changing it changes them all",
                dir_label(&scope.dir)
            )
        });
        let decl = self.variable(&scope.dir, name);
        let default = decl.and_then(|(f, b)| b.body.get_attribute("default").map(|a| (f, a)));
        if let Some(frame) = &scope.frame {
            let call_at = self.at(frame.file, frame.call.span().map_or(0, |s| s.start));
            if let Some(arg) = frame.call.body.get_attribute(name) {
                let site = Site {
                    file: frame.file,
                    expr: &arg.value,
                    scope: frame.parent.clone(),
                };
                return self.eval_at(&site, depth + 1).through(
                    format!("var.{name} set by module.{} ({call_at})", frame.name),
                    shared,
                );
            }
            let Some((f, d)) = default else {
                return Evaled::unknown(format!(
                    "var.{name} has no default and module.{} ({call_at}) does not set it",
                    frame.name
                ));
            };
            let site = Site {
                file: f,
                expr: &d.value,
                scope: Scope {
                    each: None,
                    ..scope.clone()
                },
            };
            let mut e = self.eval_at(&site, depth + 1);
            // The default serves every caller of the module: the new value belongs in
            // this call, as an argument.
            e.origin = Origin::Argument {
                file: frame.file,
                call: frame.call.span().unwrap_or(0..0),
                key: name.to_owned(),
            };
            let shared = shared.or_else(|| {
                frame.key.as_ref().map(|_| {
                    format!(
                        "module.{} uses for_each; an argument would apply to every instance",
                        frame.name
                    )
                })
            });
            return e.through(
                format!(
                    "default of var.{name}, not set by module.{} ({call_at})",
                    frame.name
                ),
                shared,
            );
        }
        let files = self.var_files.get(&scope.dir).cloned().unwrap_or_default();
        for &f in files.iter().rev() {
            if let Some(a) = self.files[f].body.get_attribute(name) {
                let site = Site {
                    file: f,
                    expr: &a.value,
                    scope: Scope {
                        dir: scope.dir.clone(),
                        frame: None,
                        each: None,
                    },
                };
                let at = self.at(f, a.span().map_or(0, |s| s.start));
                return self
                    .eval_at(&site, depth + 1)
                    .through(format!("var.{name} set in {at}"), shared);
            }
        }
        match default {
            Some((f, d)) => {
                let site = Site {
                    file: f,
                    expr: &d.value,
                    scope: Scope {
                        each: None,
                        ..scope.clone()
                    },
                };
                let at = self.at(f, d.span().map_or(0, |s| s.start));
                self.eval_at(&site, depth + 1)
                    .through(format!("default of var.{name} ({at})"), shared)
            }
            None => Evaled::unknown(format!(
                "var.{name} has no default and no .tfvars file adaptd reads sets it \
                 (it comes from -var, TF_VAR_{name} or a -var-file not listed in iac.var_files)"
            )),
        }
    }

    fn local_value<'a>(&'a self, scope: &Scope<'a>, name: &str, depth: usize) -> Evaled<'a> {
        let Some((f, a)) = self.local(&scope.dir, name) else {
            return Evaled::unknown(format!(
                "local.{name} is not defined in {}",
                dir_label(&scope.dir)
            ));
        };
        let refs = self.references(&scope.dir, "local", name);
        let shared = (refs > 1).then(|| {
            format!(
                "local.{name} is read {refs} times in {}; changing it changes them all",
                dir_label(&scope.dir)
            )
        });
        let site = Site {
            file: f,
            expr: &a.value,
            scope: Scope {
                each: None,
                ..scope.clone()
            },
        };
        let at = self.at(f, a.span().map_or(0, |s| s.start));
        self.eval_at(&site, depth + 1)
            .through(format!("local.{name} ({at})"), shared)
    }

    /// `rtype.name[key].attr…`: the referenced resource's attribute where it is written
    /// in the code, else a [`Val::Ref`] by address.
    fn resource_ref<'a>(
        &'a self,
        site: &Site<'a>,
        rtype: &str,
        name: &str,
        ops: &[&'a TraversalOperator],
        depth: usize,
    ) -> Option<Evaled<'a>> {
        let (file, block) = self.blocks(&site.scope.dir, "resource").find(|(_, b)| {
            b.labels.first().is_some_and(|l| l.as_str() == rtype)
                && b.labels.get(1).is_some_and(|l| l.as_str() == name)
        })?;
        let prefix = super::module_prefix(site.scope.frame.as_deref());
        let mut address = format!("{prefix}{rtype}.{name}");
        let mut scope = Scope {
            each: None,
            ..site.scope.clone()
        };
        let mut ops = ops;
        if let Some(TraversalOperator::Index(e)) = ops.first() {
            let key = self
                .eval_at(
                    &Site {
                        expr: e,
                        ..site.clone()
                    },
                    depth + 1,
                )
                .val;
            let Val::Str(key) = key else {
                return Some(Evaled::unknown(format!(
                    "{address}[…] with a key adaptd cannot read"
                )));
            };
            if let Some(fe) = block.body.get_attribute("for_each") {
                let m = self.eval_at(
                    &Site {
                        file,
                        expr: &fe.value,
                        scope: scope.clone(),
                    },
                    depth + 1,
                );
                let value = match m.val {
                    Val::Obj(entries) => {
                        entries.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
                    }
                    Val::Tuple(items) => items
                        .into_iter()
                        .find(|s| self.eval_at(s, depth + 1).val.as_str() == Some(&key)),
                    _ => None,
                };
                if let Some(value) = value {
                    scope.each = Some(Rc::new(Each {
                        key: key.clone(),
                        value,
                    }));
                }
            }
            address.push_str(&format!("[\"{key}\"]"));
            ops = &ops[1..];
        }
        let Some(TraversalOperator::GetAttr(attr)) = ops.first() else {
            return Some(Evaled::new(Val::Ref(address), Origin::Computed));
        };
        let start = match block.body.get_attribute(attr.as_str()) {
            Some(a) => self.eval_at(
                &Site {
                    file,
                    expr: &a.value,
                    scope,
                },
                depth + 1,
            ),
            None => Evaled::new(
                Val::Ref(format!("{address}.{}", attr.as_str())),
                Origin::Computed,
            ),
        };
        Some(self.apply_ops(start, &ops[1..], site, depth))
    }
}

pub(crate) fn dir_label(dir: &str) -> String {
    if dir.is_empty() {
        "the root module".to_owned()
    } else {
        dir.to_owned()
    }
}
