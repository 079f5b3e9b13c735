//! Erlang terms as they appear in `.app`, `.rel`, `.script` and `sys.config`
//! files, with a reader that follows `file:consult/1` and a writer whose
//! output `file:consult/1` reads back to the same terms.
//!
//! Strings are what Erlang makes of them: lists of character codes. The
//! writer prints such lists back as `"..."`, as `io_lib:format("~tp")` does.
//!
//! ```
//! use relpack::formats::term::{parse_consult, to_compact, Term};
//!
//! let terms = parse_consult(b"{application, demo, [{vsn, \"1.0\"}]}.").unwrap();
//! let props = &terms[0].as_tuple().unwrap()[2];
//! assert_eq!(props.get("vsn").unwrap().as_string().unwrap(), "1.0");
//! assert_eq!(to_compact(&terms[0]), r#"{application,demo,[{vsn,"1.0"}]}"#);
//! // A .boot file is term_to_binary of the script term (OTP 25 atoms here).
//! let boot = relpack::formats::etf::encode(&Term::atom("ok"), relpack::formats::etf::AtomEncoding::Latin1);
//! assert_eq!(boot, [131, 100, 0, 2, b'o', b'k']);
//! ```

use std::cmp::Ordering;
use std::fmt::Write as _;

/// An Erlang term. Only the kinds that can be written in a consultable
/// text file exist here (no pids, ports, references or funs).
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// An atom, by name (without quotes).
    Atom(String),
    /// An integer (the signed 64-bit range only).
    Integer(i64),
    /// A float.
    Float(f64),
    /// A binary (`<<"...">>`), as its bytes; Elixir strings are binaries.
    Binary(Vec<u8>),
    /// A tuple and its elements.
    Tuple(Vec<Term>),
    /// A proper list; a string is a list of character codes.
    List(Vec<Term>),
    /// Map entries in source order; encoders sort them.
    Map(Vec<(Term, Term)>),
}

impl Term {
    /// An atom named `name`.
    pub fn atom(name: &str) -> Term {
        Term::Atom(name.to_owned())
    }

    /// A string as Erlang stores it: a list of character codes.
    pub fn string(text: &str) -> Term {
        Term::List(text.chars().map(|c| Term::Integer(c as i64)).collect())
    }

    /// A tuple of `items`.
    pub fn tuple(items: Vec<Term>) -> Term {
        Term::Tuple(items)
    }

    /// A list of atoms, one per name.
    pub fn atoms<S: AsRef<str>>(names: &[S]) -> Term {
        Term::List(names.iter().map(|n| Term::atom(n.as_ref())).collect())
    }

    /// The atom's name, if this is an atom.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, if this is a proper list.
    pub fn as_list(&self) -> Option<&[Term]> {
        match self {
            Term::List(items) => Some(items),
            _ => None,
        }
    }

    /// The elements, if this is a tuple.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a string term (a list of valid character codes).
    pub fn as_string(&self) -> Option<String> {
        self.as_list()?
            .iter()
            .map(|t| match t {
                Term::Integer(c) => u32::try_from(*c).ok().and_then(char::from_u32),
                _ => None,
            })
            .collect()
    }

    /// A list of atoms as names.
    pub fn as_atom_list(&self) -> Option<Vec<String>> {
        self.as_list()?
            .iter()
            .map(|t| t.as_atom().map(str::to_owned))
            .collect()
    }

    /// Value of `key` in a proplist `[{key, value}, ...]`: the first match,
    /// as `proplists:get_value/2` and `lists:keyfind/3` pick it.
    pub fn get(&self, key: &str) -> Option<&Term> {
        self.as_list()?.iter().find_map(|item| match item {
            Term::Tuple(kv) if kv.len() == 2 && kv[0].as_atom() == Some(key) => Some(&kv[1]),
            _ => None,
        })
    }

    /// Erlang's standard term order (`number < atom < tuple < map < list <
    /// binary`), used to sort map keys the way `term_to_binary` emits them.
    pub fn erlang_cmp(&self, other: &Term) -> Ordering {
        fn rank(t: &Term) -> u8 {
            match t {
                Term::Integer(_) | Term::Float(_) => 0,
                Term::Atom(_) => 1,
                Term::Tuple(_) => 2,
                Term::Map(_) => 3,
                Term::List(_) => 4,
                Term::Binary(_) => 5,
            }
        }
        fn seq(a: &[Term], b: &[Term]) -> Ordering {
            for (x, y) in a.iter().zip(b) {
                let o = x.erlang_cmp(y);
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.len().cmp(&b.len())
        }
        match (self, other) {
            (Term::Integer(a), Term::Integer(b)) => a.cmp(b),
            (Term::Float(a), Term::Float(b)) => a.total_cmp(b),
            // Map keys use exact order: an integer sorts before an equal float.
            (Term::Integer(a), Term::Float(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Term::Float(a), Term::Integer(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (Term::Atom(a), Term::Atom(b)) => a.cmp(b),
            (Term::Tuple(a), Term::Tuple(b)) => a.len().cmp(&b.len()).then_with(|| seq(a, b)),
            (Term::List(a), Term::List(b)) => seq(a, b),
            (Term::Binary(a), Term::Binary(b)) => a.cmp(b),
            (Term::Map(a), Term::Map(b)) => {
                let (a, b) = (sorted_entries(a), sorted_entries(b));
                a.len()
                    .cmp(&b.len())
                    .then_with(|| {
                        let ka: Vec<Term> = a.iter().map(|(k, _)| (*k).clone()).collect();
                        let kb: Vec<Term> = b.iter().map(|(k, _)| (*k).clone()).collect();
                        seq(&ka, &kb)
                    })
                    .then_with(|| {
                        let va: Vec<Term> = a.iter().map(|(_, v)| (*v).clone()).collect();
                        let vb: Vec<Term> = b.iter().map(|(_, v)| (*v).clone()).collect();
                        seq(&va, &vb)
                    })
            }
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

/// Map entries sorted by key in Erlang term order.
pub fn sorted_entries(entries: &[(Term, Term)]) -> Vec<(&Term, &Term)> {
    let mut v: Vec<(&Term, &Term)> = entries.iter().map(|(k, v)| (k, v)).collect();
    v.sort_by(|a, b| a.0.erlang_cmp(b.0));
    v
}

// ---------------------------------------------------------------------------
// Writing

/// Renders terms as consultable text: each term followed by `.` and a
/// newline, long terms broken over indented lines.
pub fn to_consult_text(terms: &[Term]) -> String {
    let mut out = String::from("%% coding: utf-8\n");
    for t in terms {
        write_pretty(&mut out, t, 0);
        out.push_str(".\n");
    }
    out
}

/// One term on one line, the form `~w` would give (strings as `"..."`).
pub fn to_compact(term: &Term) -> String {
    let mut s = String::new();
    write_compact(&mut s, term, usize::MAX);
    s
}

const WIDTH: usize = 100;

fn write_pretty(out: &mut String, term: &Term, indent: usize) {
    // Rendered only as far as the line allows: a long list is not
    // rendered whole at every level of nesting above it.
    let mut compact = String::new();
    write_compact(&mut compact, term, WIDTH.saturating_sub(indent));
    let (open, close, items): (&str, &str, Vec<String>) = match term {
        _ if compact.len() + indent <= WIDTH => {
            out.push_str(&compact);
            return;
        }
        Term::Tuple(items) => ("{", "}", pretty_items(items, indent + 1)),
        Term::List(items) if printable(items).is_none() => {
            ("[", "]", pretty_items(items, indent + 1))
        }
        Term::Map(entries) => {
            let items = entries
                .iter()
                .map(|(k, v)| {
                    let mut s = String::new();
                    write_compact(&mut s, k, usize::MAX);
                    s.push_str(" => ");
                    let inner = indent + 2 + s.len();
                    write_pretty(&mut s, v, inner);
                    s
                })
                .collect();
            ("#{", "}", items)
        }
        _ => {
            out.push_str(&to_compact(term));
            return;
        }
    };
    out.push_str(open);
    let pad = " ".repeat(indent + open.len());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
            out.push_str(&pad);
        }
        out.push_str(item);
    }
    out.push_str(close);
}

fn pretty_items(items: &[Term], indent: usize) -> Vec<String> {
    items
        .iter()
        .map(|t| {
            let mut s = String::new();
            write_pretty(&mut s, t, indent);
            s
        })
        .collect()
}

/// Writes `term` on one line, stopping early (with the text cut short)
/// once `out` is longer than `limit`.
fn write_compact(out: &mut String, term: &Term, limit: usize) {
    match term {
        Term::Atom(a) => write_atom(out, a),
        Term::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Term::Float(f) => out.push_str(&float_text(*f)),
        Term::Binary(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.is_empty() && text.chars().all(is_printable) => {
                out.push_str("<<");
                write_quoted(out, text.chars(), '"');
                out.push_str("/utf8>>");
            }
            _ => {
                out.push_str("<<");
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{b}");
                }
                out.push_str(">>");
            }
        },
        Term::Tuple(items) => write_seq(out, "{", "}", items, limit),
        Term::List(items) => match printable(items) {
            Some(text) => write_quoted(out, text.chars(), '"'),
            None => write_seq(out, "[", "]", items, limit),
        },
        Term::Map(entries) => {
            out.push_str("#{");
            for (i, (k, v)) in entries.iter().enumerate() {
                if out.len() > limit {
                    return;
                }
                if i > 0 {
                    out.push(',');
                }
                write_compact(out, k, limit);
                out.push_str(" => ");
                write_compact(out, v, limit);
            }
            out.push('}');
        }
    }
}

fn write_seq(out: &mut String, open: &str, close: &str, items: &[Term], limit: usize) {
    out.push_str(open);
    for (i, t) in items.iter().enumerate() {
        if out.len() > limit {
            return;
        }
        if i > 0 {
            out.push(',');
        }
        write_compact(out, t, limit);
    }
    out.push_str(close);
}

/// Erlang float syntax needs digits on both sides of the point.
fn float_text(f: f64) -> String {
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((mant, exp)) if !mant.contains('.') => format!("{mant}.0e{exp}"),
        Some(_) => s,
        None if s.contains('.') => s,
        None => format!("{s}.0"),
    }
}

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t')
        || (c >= ' ' && c != '\u{7f}' && !('\u{80}'..'\u{a0}').contains(&c))
}

/// The text of a non-empty list of printable character codes.
fn printable(items: &[Term]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    items
        .iter()
        .map(|t| match t {
            Term::Integer(c) => u32::try_from(*c)
                .ok()
                .and_then(char::from_u32)
                .filter(|c| is_printable(*c)),
            _ => None,
        })
        .collect()
}

const RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not", "of", "or",
    "orelse", "receive", "rem", "try", "when", "xor",
];

fn write_atom(out: &mut String, name: &str) {
    let mut chars = name.chars();
    let bare = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
        && !RESERVED.contains(&name);
    if bare {
        out.push_str(name);
    } else {
        write_quoted(out, name.chars(), '\'');
    }
}

fn write_quoted(out: &mut String, chars: impl Iterator<Item = char>, quote: char) {
    out.push(quote);
    for c in chars {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

// ---------------------------------------------------------------------------
// Reading

/// Why a text could not be read as terms, with the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line where reading failed.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// How deep terms may nest: keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 128;

/// Reads every term of a consultable file, as `file:consult/1` does.
/// Text that is not valid UTF-8 is read as Latin-1.
pub fn parse_consult(bytes: &[u8]) -> Result<Vec<Term>, ParseError> {
    let text: String = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    };
    let tokens = tokenize(&text)?;
    let mut p = Parser { tokens, pos: 0 };
    let mut terms = Vec::new();
    while !p.at_end() {
        terms.push(p.term(0)?);
        p.expect(&Tok::Dot, "`.` after a term")?;
    }
    Ok(terms)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Atom(String),
    Str(String),
    Int(i64),
    Float(f64),
    Punct(&'static str),
    Dot,
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(1, |t| t.1)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line(),
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.0)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(tok) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected {what}, found {}", self.describe()))
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of file".into(),
            Some(Tok::Atom(a)) => format!("atom {a}"),
            Some(Tok::Str(_)) => "a string".into(),
            Some(Tok::Int(i)) => format!("{i}"),
            Some(Tok::Float(f)) => format!("{f}"),
            Some(Tok::Punct(p)) => format!("`{p}`"),
            Some(Tok::Dot) => "`.`".into(),
        }
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn term(&mut self, depth: usize) -> Result<Term, ParseError> {
        if depth > MAX_DEPTH {
            return self.err(format!("terms nested deeper than {MAX_DEPTH} levels"));
        }
        match self.next() {
            Some(Tok::Atom(a)) => Ok(Term::Atom(a)),
            Some(Tok::Int(i)) => Ok(Term::Integer(i)),
            Some(Tok::Float(f)) => Ok(Term::Float(f)),
            Some(Tok::Str(s)) => {
                let mut text = s;
                // Adjacent string literals concatenate.
                while let Some(Tok::Str(more)) = self.peek() {
                    text.push_str(more);
                    self.pos += 1;
                }
                Ok(Term::string(&text))
            }
            Some(Tok::Punct("-")) | Some(Tok::Punct("+")) => {
                self.pos -= 1;
                let negative = self.is_punct("-");
                self.pos += 1;
                match self.next() {
                    Some(Tok::Int(i)) if negative => Ok(Term::Integer(-i)),
                    Some(Tok::Int(i)) => Ok(Term::Integer(i)),
                    Some(Tok::Float(f)) if negative => Ok(Term::Float(-f)),
                    Some(Tok::Float(f)) => Ok(Term::Float(f)),
                    _ => {
                        self.pos -= 1;
                        self.err("expected a number after a sign")
                    }
                }
            }
            Some(Tok::Punct("{")) => Ok(Term::Tuple(self.items("}", depth)?)),
            Some(Tok::Punct("[")) => Ok(Term::List(self.items("]", depth)?)),
            Some(Tok::Punct("#{")) => self.map(depth),
            Some(Tok::Punct("<<")) => self.binary(),
            Some(_) => {
                self.pos -= 1;
                self.err(format!("expected a term, found {}", self.describe()))
            }
            None => self.err("unexpected end of file, expected a term"),
        }
    }

    fn items(&mut self, close: &'static str, depth: usize) -> Result<Vec<Term>, ParseError> {
        let mut items = Vec::new();
        if self.is_punct(close) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.term(depth + 1)?);
            if self.is_punct(",") {
                self.pos += 1;
            } else if self.is_punct(close) {
                self.pos += 1;
                return Ok(items);
            } else if close == "]" && self.is_punct("|") {
                self.pos += 1;
                // `[a | [b]]` is a proper list; any other tail is not a term we keep.
                match self.term(depth + 1)? {
                    Term::List(tail) => items.extend(tail),
                    _ => return self.err("improper lists are not supported"),
                }
                self.expect(&Tok::Punct("]"), "`]`")?;
                return Ok(items);
            } else {
                return self.err(format!(
                    "expected `,` or `{close}`, found {}",
                    self.describe()
                ));
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Term, ParseError> {
        let mut entries = Vec::new();
        if self.is_punct("}") {
            self.pos += 1;
            return Ok(Term::Map(entries));
        }
        loop {
            let k = self.term(depth + 1)?;
            self.expect(&Tok::Punct("=>"), "`=>` in a map")?;
            let v = self.term(depth + 1)?;
            entries.push((k, v));
            if self.is_punct(",") {
                self.pos += 1;
            } else {
                self.expect(&Tok::Punct("}"), "`,` or `}` in a map")?;
                return Ok(Term::Map(entries));
            }
        }
    }

    /// `<<"text">>`, `<<"text"/utf8>>`, `<<1,2,3>>` and mixes of them.
    fn binary(&mut self) -> Result<Term, ParseError> {
        let mut bytes = Vec::new();
        if self.is_punct(">>") {
            self.pos += 1;
            return Ok(Term::Binary(bytes));
        }
        loop {
            match self.next() {
                Some(Tok::Str(s)) => {
                    let utf8 = self.is_punct("/");
                    if utf8 {
                        self.pos += 1;
                        match self.next() {
                            Some(Tok::Atom(a)) if a == "utf8" => {}
                            _ => {
                                self.pos -= 1;
                                return self.err("only the /utf8 type is supported in binaries");
                            }
                        }
                        bytes.extend_from_slice(s.as_bytes());
                    } else {
                        for c in s.chars() {
                            // Without /utf8 each character is one byte, truncated.
                            bytes.push(c as u32 as u8);
                        }
                    }
                }
                Some(Tok::Int(i)) if (0..=255).contains(&i) => bytes.push(i as u8),
                _ => {
                    self.pos -= 1;
                    return self.err("binary segments must be strings or bytes 0..255");
                }
            }
            if self.is_punct(",") {
                self.pos += 1;
            } else {
                self.expect(&Tok::Punct(">>"), "`,` or `>>` in a binary")?;
                return Ok(Term::Binary(bytes));
            }
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let err = |line: usize, message: String| Err(ParseError { line, message });
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '%' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            'a'..='z' | 'ß'..='ÿ' if c != '÷' => {
                let s = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '@')
                {
                    i += 1;
                }
                toks.push((Tok::Atom(chars[s..i].iter().collect()), start_line));
            }
            'A'..='Z' | '_' => {
                let s = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[s..i].iter().collect();
                return err(line, format!("variable `{name}` is not allowed in a term"));
            }
            '\'' | '"' => {
                let (s, next, lines) =
                    read_quoted(&chars, i, c).map_err(|m| ParseError { line, message: m })?;
                line += lines;
                i = next;
                toks.push((
                    if c == '\'' { Tok::Atom(s) } else { Tok::Str(s) },
                    start_line,
                ));
            }
            '$' => {
                let (ch, next) = match chars.get(i + 1) {
                    Some('\\') => {
                        read_escape(&chars, i + 2).map_err(|m| ParseError { line, message: m })?
                    }
                    Some(&ch) => (ch, i + 2),
                    None => return err(line, "`$` at end of file".into()),
                };
                toks.push((Tok::Int(ch as i64), start_line));
                i = next;
            }
            '0'..='9' => {
                let (tok, next) =
                    read_number(&chars, i).map_err(|m| ParseError { line, message: m })?;
                toks.push((tok, start_line));
                i = next;
            }
            '.' => {
                // A dot ends a term only when followed by white space, `%` or EOF.
                match chars.get(i + 1) {
                    None => toks.push((Tok::Dot, line)),
                    Some(n) if n.is_whitespace() || *n == '%' => toks.push((Tok::Dot, line)),
                    Some(_) => return err(line, "unexpected `.`".into()),
                }
                i += 1;
            }
            _ => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let p: &'static str = match two.as_str() {
                    "#{" => "#{",
                    "=>" => "=>",
                    "<<" => "<<",
                    ">>" => ">>",
                    _ => match c {
                        '{' => "{",
                        '}' => "}",
                        '[' => "[",
                        ']' => "]",
                        ',' => ",",
                        '|' => "|",
                        '-' => "-",
                        '+' => "+",
                        '/' => "/",
                        _ => return err(line, format!("unexpected character `{c}`")),
                    },
                };
                toks.push((Tok::Punct(p), line));
                i += p.chars().count();
            }
        }
    }
    Ok(toks)
}

/// Reads a quoted atom or string starting at the quote; returns the text,
/// the index after the closing quote and the newlines crossed.
fn read_quoted(
    chars: &[char],
    start: usize,
    quote: char,
) -> Result<(String, usize, usize), String> {
    let mut s = String::new();
    let mut i = start + 1;
    let mut lines = 0;
    loop {
        match chars.get(i) {
            None => {
                return Err(format!(
                    "unterminated {}",
                    if quote == '"' {
                        "string"
                    } else {
                        "quoted atom"
                    }
                ))
            }
            Some(&c) if c == quote => return Ok((s, i + 1, lines)),
            Some('\\') => {
                let (c, next) = read_escape(chars, i + 1)?;
                s.push(c);
                i = next;
            }
            Some(&c) => {
                if c == '\n' {
                    lines += 1;
                }
                s.push(c);
                i += 1;
            }
        }
    }
}

/// Reads the escape after a backslash at `i`.
fn read_escape(chars: &[char], i: usize) -> Result<(char, usize), String> {
    let c = *chars.get(i).ok_or("unterminated escape")?;
    let simple = |ch: char| Ok((ch, i + 1));
    match c {
        'b' => simple('\u{8}'),
        'd' => simple('\u{7f}'),
        'e' => simple('\u{1b}'),
        'f' => simple('\u{c}'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        's' => simple(' '),
        't' => simple('\t'),
        'v' => simple('\u{b}'),
        '0'..='7' => {
            let mut v = 0u32;
            let mut j = i;
            while j < i + 3 && matches!(chars.get(j), Some('0'..='7')) {
                v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
                j += 1;
            }
            Ok((char::from_u32(v).ok_or("bad octal escape")?, j))
        }
        'x' => {
            if chars.get(i + 1) == Some(&'{') {
                let end = (i + 2..chars.len())
                    .find(|&j| chars[j] == '}')
                    .ok_or("unterminated \\x{...} escape")?;
                let hex: String = chars[i + 2..end].iter().collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\x{...} escape")?;
                Ok((char::from_u32(v).ok_or("bad \\x{...} escape")?, end + 1))
            } else {
                let hex: String = chars
                    .get(i + 1..i + 3)
                    .ok_or("bad \\x escape")?
                    .iter()
                    .collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\x escape")?;
                Ok((char::from_u32(v).ok_or("bad \\x escape")?, i + 3))
            }
        }
        '^' => {
            let ch = *chars.get(i + 1).ok_or("unterminated \\^ escape")?;
            Ok((char::from_u32(ch as u32 & 0x1f).unwrap_or('\0'), i + 2))
        }
        other => simple(other),
    }
}

fn read_number(chars: &[char], start: usize) -> Result<(Tok, usize), String> {
    let digits = |mut i: usize, radix: u32| {
        let s = i;
        while i < chars.len() && (chars[i].is_digit(radix) || (chars[i] == '_' && i > s)) {
            i += 1;
        }
        (
            chars[s..i]
                .iter()
                .filter(|&&c| c != '_')
                .collect::<String>(),
            i,
        )
    };
    let (int_part, mut i) = digits(start, 10);
    if chars.get(i) == Some(&'#') {
        let radix: u32 = int_part.parse().map_err(|_| "bad radix")?;
        if !(2..=36).contains(&radix) {
            return Err(format!("radix {radix} is out of range"));
        }
        let (body, next) = digits(i + 1, radix);
        let v = i64::from_str_radix(&body, radix).map_err(|_| "integer out of range (64 bits)")?;
        return Ok((Tok::Int(v), next));
    }
    let is_float =
        chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit());
    if !is_float {
        let v: i64 = int_part
            .parse()
            .map_err(|_| "integer out of range (64 bits)")?;
        return Ok((Tok::Int(v), i));
    }
    let (frac, next) = digits(i + 1, 10);
    i = next;
    let mut text = format!("{int_part}.{frac}");
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let mut exp = String::from("e");
        if let Some(&sign @ ('+' | '-')) = chars.get(j) {
            exp.push(sign);
            j += 1;
        }
        let (e, next) = digits(j, 10);
        if e.is_empty() {
            return Err("bad float exponent".into());
        }
        exp.push_str(&e);
        text.push_str(&exp);
        i = next;
    }
    let f: f64 = text.parse().map_err(|_| "bad float")?;
    if !f.is_finite() {
        return Err("float out of range".into());
    }
    Ok((Tok::Float(f), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Term {
        let mut v = parse_consult(text.as_bytes()).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    #[test]
    fn reads_app_file_shapes() {
        let t = one(
            "%% comment\n{application, 'my app', [{vsn, \"1.0\"}, {env, [{k, <<\"v\">>}, {n, -16#ff}, {f, 1.5e3}]},\n {mod, {m, []}}, {map, #{a => $b}}]}.\n",
        );
        assert_eq!(t.as_tuple().unwrap()[1], Term::atom("my app"));
        let props = &t.as_tuple().unwrap()[2];
        assert_eq!(props.get("vsn").unwrap().as_string().unwrap(), "1.0");
        let env = props.get("env").unwrap();
        assert_eq!(env.get("k"), Some(&Term::Binary(b"v".to_vec())));
        assert_eq!(env.get("n"), Some(&Term::Integer(-255)));
        assert_eq!(env.get("f"), Some(&Term::Float(1500.0)));
        assert_eq!(
            props.get("map"),
            Some(&Term::Map(vec![(
                Term::atom("a"),
                Term::Integer('b' as i64)
            )]))
        );
    }

    #[test]
    fn string_escapes_and_concatenation() {
        assert_eq!(
            one("\"a\\n\\x{263A}\" \"b\\101\".").as_string().unwrap(),
            "a\n\u{263A}bA"
        );
        assert_eq!(one("[$a, $\\n, $\\s].").as_string().unwrap(), "a\n ");
        assert_eq!(one("[a | [b]]."), Term::atoms(&["a", "b"]));
    }

    #[test]
    fn errors_carry_lines() {
        let e = parse_consult(b"{a,\n b\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse_consult(b"{a, X}.")
            .unwrap_err()
            .message
            .contains("variable"));
        assert!(parse_consult(b"{a, 99999999999999999999}.").is_err());
        assert!(parse_consult(b"{a}").unwrap_err().message.contains("`.`"));
        let deep = "[".repeat(10_000);
        assert!(parse_consult(deep.as_bytes())
            .unwrap_err()
            .message
            .contains("nested"));
    }

    #[test]
    fn writes_what_it_reads() {
        let text = "{release,{\"n\",\"1\"},{erts,\"13.1\"},[{'Elixir.Foo',\"é\",load,[a]},{f,-1.0e-7,<<1,2>>,<<\"x\"/utf8>>,#{k => []},\"\",'end','A b'}]}.\n";
        let t = one(text);
        let written = to_consult_text(std::slice::from_ref(&t));
        assert_eq!(parse_consult(written.as_bytes()).unwrap(), vec![t.clone()]);
        assert!(to_compact(&t).contains("'end'"));
        assert!(to_compact(&t).contains("'Elixir.Foo'"));
    }

    #[test]
    fn long_terms_break_lines_and_round_trip() {
        let long = Term::List(
            (0..60)
                .map(|i| Term::atom(&format!("module_{i}")))
                .collect(),
        );
        let t = Term::tuple(vec![Term::atom("primLoad"), long]);
        let text = to_consult_text(std::slice::from_ref(&t));
        assert!(text.lines().count() > 10);
        assert!(text.lines().all(|l| l.len() <= WIDTH + 20));
        assert_eq!(parse_consult(text.as_bytes()).unwrap(), vec![t]);
    }

    #[test]
    fn term_order_matches_erlang() {
        let mut v = [
            Term::Binary(vec![]),
            Term::List(vec![]),
            Term::Map(vec![]),
            Term::tuple(vec![]),
            Term::atom("a"),
            Term::Float(1.0),
            Term::Integer(1),
        ];
        v.sort_by(|a, b| a.erlang_cmp(b));
        assert_eq!(v[0], Term::Integer(1));
        assert_eq!(v[1], Term::Float(1.0));
        assert_eq!(v[6], Term::Binary(vec![]));
    }
}
