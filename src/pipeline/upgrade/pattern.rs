//! Version patterns of appups. An appup entry's version may be a binary
//! holding a regular expression (OTP's own appups: `<<"^4\\.1\\.1(?:\\.[0-9]+)*$">>`);
//! systools takes the entry when the first match `re:run/3` finds is the
//! whole version. This is that test for the expressions appups use:
//! literals and escapes, `.`, classes (`[0-9]`, `[^.]`, `\d`), groups
//! (`(...)`, `(?:...)`), alternation, the quantifiers `* + ? {n} {n,} {n,m}`
//! (greedy or lazy) and the anchors `^ $`, matched in PCRE's order of
//! preference. Anything else is an error, never a guess.

/// Whether `pattern` selects `vsn` as systools does; `Err` for an
/// expression this matcher does not know.
pub fn selects(pattern: &str, vsn: &str) -> Result<bool, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut p = Parser { chars, pos: 0 };
    let node = p.alternation()?;
    if p.pos != p.chars.len() {
        return Err(format!("unsupported regular expression `{pattern}`"));
    }
    let text: Vec<char> = vsn.chars().collect();
    let mut end = None;
    matches(&node, &text, 0, &mut |e| {
        end = Some(e);
        true
    });
    Ok(end == Some(text.len()))
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Group(Box<Node>),
    Alt(Vec<Node>),
    Seq(Vec<Node>),
    Repeat(Box<Node>, usize, Option<usize>, bool),
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or("unexpected end of regular expression")?;
        self.pos += 1;
        Ok(c)
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.sequence()?);
        }
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Node::Alt(alts)
        })
    }

    fn sequence(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Seq(items))
    }

    fn atom(&mut self) -> Result<Node, String> {
        Ok(match self.next()? {
            '^' => Node::Start,
            '$' => Node::End,
            '.' => Node::Any,
            '(' => {
                if self.peek() == Some('?') {
                    self.pos += 1;
                    if self.next()? != ':' {
                        return Err("only (?:...) groups are supported".into());
                    }
                }
                let inner = self.alternation()?;
                if self.next()? != ')' {
                    return Err("unbalanced parenthesis".into());
                }
                Node::Group(Box::new(inner))
            }
            '[' => self.class()?,
            '\\' => self.escape()?,
            c @ ('*' | '+' | '?' | '{' | ')') => return Err(format!("unexpected `{c}`")),
            c => Node::Char(c),
        })
    }

    fn escape(&mut self) -> Result<Node, String> {
        Ok(match self.next()? {
            'd' => Node::Class(vec![('0', '9')], false),
            'D' => Node::Class(vec![('0', '9')], true),
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape `\\{c}`")),
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.next()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '\\' => match self.next()? {
                    'd' => {
                        ranges.push(('0', '9'));
                        continue;
                    }
                    c if c.is_ascii_alphanumeric() => {
                        return Err(format!("unsupported escape `\\{c}` in a class"))
                    }
                    c => c,
                },
                c => c,
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1) != Some(&']') {
                self.pos += 1;
                ranges.push((lo, self.next()?));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Node::Class(ranges, negated))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.pos += 1;
                let number = |p: &mut Parser| -> Option<usize> {
                    let start = p.pos;
                    while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                        p.pos += 1;
                    }
                    p.chars[start..p.pos]
                        .iter()
                        .collect::<String>()
                        .parse()
                        .ok()
                };
                let min = number(self).ok_or("bad {n,m} quantifier")?;
                let max = if self.peek() == Some(',') {
                    self.pos += 1;
                    number(self)
                } else {
                    Some(min)
                };
                if self.peek() != Some('}') {
                    return Err("bad {n,m} quantifier".into());
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        let lazy = self.peek() == Some('?');
        if lazy {
            self.pos += 1;
        }
        Ok(Node::Repeat(Box::new(atom), min, max, !lazy))
    }
}

/// Tries `node` at `pos`, calling `k` with each end position in order of
/// preference until it accepts one.
fn matches(node: &Node, text: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Char(c) => text.get(pos) == Some(c) && k(pos + 1),
        Node::Any => text.get(pos).is_some_and(|&c| c != '\n') && k(pos + 1),
        Node::Class(ranges, negated) => {
            text.get(pos)
                .is_some_and(|&c| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && k(pos + 1)
        }
        Node::Start => pos == 0 && k(pos),
        Node::End => (pos == text.len() || (pos + 1 == text.len() && text[pos] == '\n')) && k(pos),
        Node::Group(inner) => matches(inner, text, pos, k),
        Node::Alt(alts) => alts.iter().any(|a| matches(a, text, pos, k)),
        Node::Seq(items) => seq(items, text, pos, k),
        Node::Repeat(inner, min, max, greedy) => repeat(inner, *min, *max, *greedy, text, pos, k),
    }
}

fn seq(items: &[Node], text: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match items.split_first() {
        None => k(pos),
        Some((first, rest)) => matches(first, text, pos, &mut |p| seq(rest, text, p, k)),
    }
}

fn repeat(
    inner: &Node,
    min: usize,
    max: Option<usize>,
    greedy: bool,
    text: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if min > 0 {
        let max = max.map(|m| m - 1);
        return matches(inner, text, pos, &mut |p| {
            repeat(inner, min - 1, max, greedy, text, p, k)
        });
    }
    if max == Some(0) {
        return k(pos);
    }
    let more = |k: &mut dyn FnMut(usize) -> bool| {
        // An iteration that consumes nothing ends the repetition (as PCRE).
        matches(inner, text, pos, &mut |p| {
            p > pos && repeat(inner, 0, max.map(|m| m - 1), greedy, text, p, k)
        })
    };
    // Greedy: one more iteration first; lazy: stopping here first.
    if !greedy && k(pos) {
        return true;
    }
    more(k) || (greedy && k(pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each answer is what `systools_relup:appup_search_for_version/2`
    /// answered for an entry `{Pattern, _}` on OTP 25.
    #[test]
    fn patterns_select_as_systools_does() {
        let cases = [
            (r"^4\.1\.1(?:\.[0-9]+)*$", "4.1.1", true),
            (r"^4\.1\.1(?:\.[0-9]+)*$", "4.1.1.2.3", true),
            (r"^4\.1\.0(?:\.[0-9]+)+$", "4.1.0", false),
            (r"^4\.1\.0(?:\.[0-9]+)+$", "4.1.0.1", true),
            (r"^4\.1$", "4.1.1", false),
            (r"4\.1", "4.1.1", false),
            (r"0\.1\..*", "0.1.7", true),
            (r"0\.1|0\.1\.7", "0.1.7", false),
            (r"0\.1\.[0-9]+", "0.1.12", true),
            (r"0\.1\.[0-9]+?", "0.1.12", false),
            (r"[^.]+\.[^.]+\.\d{1,2}", "1.2.34", true),
            (r"1\.(2|3)\.0", "1.3.0", true),
        ];
        for (pattern, vsn, expected) in cases {
            assert_eq!(selects(pattern, vsn), Ok(expected), "{pattern} {vsn}");
        }
        assert!(selects(r"(?=x)", "x").is_err());
        assert!(selects(r"\w+", "x").is_err());
    }
}
