//! A small, strict JSON parser (RFC 8259) and writer, so plugins need no crates.
//!
//! Parsing builds a flat tape of [`Node`]s in one pass over the text: scalars and strings point
//! back into the source, so nothing is copied or allocated per value. Containers record where
//! their subtree ends, which makes skipping a member O(1); lookups walk the members of one
//! object, which for the handful of keys an input has is faster than building a map. Strings
//! are unescaped only when read and only if they contain escapes. The node vector is reused
//! from call to call by the SDK, so a steady-state evaluation allocates nothing for parsing.
//!
//! Nesting is capped at [`MAX_DEPTH`]; deeper input is a parse error like any other malformed
//! input. The parser itself does not recurse, and the cap bounds the recursion of
//! [`Value::to_json`] and of writing, so hostile input cannot exhaust the (deliberately small)
//! guest stack.

use std::borrow::Cow;
use std::fmt;

/// The deepest nesting of arrays and objects the parser accepts.
pub const MAX_DEPTH: usize = 64;

const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_NUMBER: u8 = 3;
const T_STRING: u8 = 4;
/// A string with at least one backslash escape: it must be decoded before use.
const T_STRING_ESC: u8 = 5;
const T_ARRAY: u8 = 6;
const T_OBJECT: u8 = 7;

/// One value on the parse tape. Opaque: read values through [`Value`].
#[derive(Clone, Copy, Debug)]
pub struct Node {
    tag: u8,
    /// Strings: the first byte after the opening quote; others: the first byte of the value.
    start: u32,
    /// Strings: the closing quote; others: one past the last byte.
    end: u32,
    /// Index of the node after this one's subtree (the next sibling, if any).
    next: u32,
}

/// Where and why the text is not valid JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

/// The kind of a JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// A parsed JSON document that owns its tape and borrows its text.
pub struct Document<'a> {
    src: &'a str,
    nodes: Vec<Node>,
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root().fmt(f)
    }
}

impl<'a> Document<'a> {
    /// Parses `src`. Use [`Document::parse_reusing`] in loops to keep the tape's allocation.
    pub fn parse(src: &'a str) -> Result<Document<'a>, ParseError> {
        Self::parse_reusing(src, Vec::new())
    }

    /// Parses `src` into `nodes` (cleared first); get the vector back with [`Document::into_nodes`].
    pub fn parse_reusing(src: &'a str, mut nodes: Vec<Node>) -> Result<Document<'a>, ParseError> {
        parse_into(src, &mut nodes)?;
        Ok(Document { src, nodes })
    }

    /// The top-level value.
    pub fn root(&self) -> Value<'_> {
        Value { src: self.src, nodes: &self.nodes, idx: 0 }
    }

    /// Gives back the tape's vector for reuse.
    pub fn into_nodes(self) -> Vec<Node> {
        self.nodes
    }
}

/// Parses `src` into `nodes`; the root is node 0.
pub(crate) fn parse_into(src: &str, nodes: &mut Vec<Node>) -> Result<(), ParseError> {
    parse_bytes(src.as_bytes(), nodes).map(|_| ())
}

/// Parses UTF-8 bytes into `nodes` and returns them as text.
///
/// The UTF-8 check is part of the scan: outside strings the grammar admits only ASCII, and
/// inside strings the bytes from 0x80 up are checked as they are met, so mostly-ASCII input
/// costs nothing extra. The parser is iterative, with the open containers on a fixed stack of
/// [`MAX_DEPTH`]: the position stays in a register and no input can make it recurse.
pub(crate) fn parse_bytes<'a>(b: &'a [u8], nodes: &mut Vec<Node>) -> Result<&'a str, ParseError> {
    nodes.clear();
    if b.len() >= u32::MAX as usize {
        return Err(ParseError { offset: 0, reason: "input too large" });
    }
    let err = |offset: usize, reason: &'static str| Err(ParseError { offset, reason });
    // Open containers, innermost last, and one bit per level: set for objects.
    let mut open = [0u32; MAX_DEPTH];
    let mut objects: u64 = 0;
    let mut depth = 0usize;
    let mut i = skip_ws(b, 0);
    'value: loop {
        // A value starts at i.
        let c = match b.get(i) {
            Some(&c) => c,
            None => return err(i, "unexpected end of input"),
        };
        match c {
            b'{' | b'[' => {
                if depth == MAX_DEPTH {
                    return err(i, "nesting deeper than 64 levels");
                }
                let is_obj = c == b'{';
                open[depth] = push(nodes, if is_obj { T_OBJECT } else { T_ARRAY }, i, i);
                objects = (objects & !(1 << depth)) | ((is_obj as u64) << depth);
                depth += 1;
                i = skip_ws(b, i + 1);
                let close = if is_obj { b'}' } else { b']' };
                if b.get(i) != Some(&close) {
                    if is_obj {
                        i = key(b, i, nodes)?;
                    }
                    continue 'value;
                }
                // An empty container: fall through to close it below.
            }
            b'"' => i = string(b, i, nodes)?,
            b't' => i = literal(b, i, b"true", T_TRUE, nodes)?,
            b'f' => i = literal(b, i, b"false", T_FALSE, nodes)?,
            b'n' => i = literal(b, i, b"null", T_NULL, nodes)?,
            b'-' | b'0'..=b'9' => i = number(b, i, nodes)?,
            _ => return err(i, "expected a value"),
        }
        // A value ended before i (or an empty container opens at i): close containers and
        // find where the next value starts.
        loop {
            if depth == 0 {
                break 'value;
            }
            let is_obj = objects & (1 << (depth - 1)) != 0;
            let close = if is_obj { b'}' } else { b']' };
            i = skip_ws(b, i);
            match b.get(i) {
                Some(&c) if c == close => {
                    let next = nodes.len() as u32;
                    let n = &mut nodes[open[depth - 1] as usize];
                    n.end = i as u32 + 1;
                    n.next = next;
                    depth -= 1;
                    i += 1;
                }
                Some(b',') => {
                    i = skip_ws(b, i + 1);
                    if is_obj {
                        i = key(b, i, nodes)?;
                    }
                    continue 'value;
                }
                _ => return err(i, "expected ',' or the end of the container"),
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return err(i, "unexpected data after the value");
    }
    // SAFETY: every byte was either matched against ASCII grammar or checked by utf8_char.
    Ok(unsafe { std::str::from_utf8_unchecked(b) })
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        // Most JSON on the wire is compact: anything above ' ' ends the run at once.
        if c > b' ' || !(c == b' ' || c == b'\n' || c == b'\r' || c == b'\t') {
            break;
        }
        i += 1;
    }
    i
}

#[inline]
fn push(nodes: &mut Vec<Node>, tag: u8, start: usize, end: usize) -> u32 {
    let idx = nodes.len() as u32;
    nodes.push(Node { tag, start: start as u32, end: end as u32, next: idx + 1 });
    idx
}

/// Parses `"key" :` at i; returns where the member's value starts.
#[inline]
fn key(b: &[u8], i: usize, nodes: &mut Vec<Node>) -> Result<usize, ParseError> {
    if b.get(i) != Some(&b'"') {
        return Err(ParseError { offset: i, reason: "expected a string key" });
    }
    let i = skip_ws(b, string(b, i, nodes)?);
    if b.get(i) != Some(&b':') {
        return Err(ParseError { offset: i, reason: "expected ':' after a key" });
    }
    Ok(skip_ws(b, i + 1))
}

fn literal(b: &[u8], i: usize, word: &'static [u8], tag: u8, nodes: &mut Vec<Node>) -> Result<usize, ParseError> {
    if !b[i..].starts_with(word) {
        return Err(ParseError { offset: i, reason: "invalid literal" });
    }
    push(nodes, tag, i, i + word.len());
    Ok(i + word.len())
}

/// Bytes that end the scan inside a string: the quote, the backslash, control characters and
/// the non-ASCII bytes, which must be checked as UTF-8.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i < 0x20 || i >= 0x80;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Parses the string whose opening quote is at i; returns the index after the closing quote.
fn string(b: &[u8], open: usize, nodes: &mut Vec<Node>) -> Result<usize, ParseError> {
    let start = open + 1;
    let mut i = start;
    let mut tag = T_STRING;
    loop {
        // Eight bytes at a time while none of them is special: a byte flags when it equals
        // '"' or '\\', is below 0x20 or from 0x80 up. Only bytes after a real match can flag
        // falsely (a borrow), so the lowest flag is exact.
        while i + 8 <= b.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            let x = u64::from_le_bytes(w);
            let q = x ^ (ONES * b'"' as u64);
            let s = x ^ (ONES * b'\\' as u64);
            let m = ((q.wrapping_sub(ONES) & !q) | (s.wrapping_sub(ONES) & !s) | (x.wrapping_sub(ONES * 0x20) & !x) | x)
                & HIGHS;
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        while i < b.len() && !STRING_STOP[b[i] as usize] {
            i += 1;
        }
        match b.get(i) {
            Some(b'"') => break,
            Some(b'\\') => {
                tag = T_STRING_ESC;
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') if b.len() >= i + 6 && b[i + 2..i + 6].iter().all(u8::is_ascii_hexdigit) => i += 6,
                    _ => return Err(ParseError { offset: i, reason: "invalid escape" }),
                }
            }
            Some(&c) if c >= 0x80 => match utf8_char(b, i) {
                Some(n) => i += n,
                None => return Err(ParseError { offset: i, reason: "invalid UTF-8" }),
            },
            Some(_) => return Err(ParseError { offset: i, reason: "control character in a string" }),
            None => return Err(ParseError { offset: i, reason: "unterminated string" }),
        }
    }
    push(nodes, tag, start, i);
    Ok(i + 1)
}

/// The length of the well-formed UTF-8 sequence at i (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or None.
fn utf8_char(b: &[u8], i: usize) -> Option<usize> {
    let cont = |j: usize| matches!(b.get(i + j), Some(0x80..=0xBF));
    let second = *b.get(i + 1)?;
    let (n, ok2) = match b[i] {
        0xC2..=0xDF => (2, (0x80..=0xBF).contains(&second)),
        0xE0 => (3, (0xA0..=0xBF).contains(&second)),
        0xE1..=0xEC | 0xEE..=0xEF => (3, (0x80..=0xBF).contains(&second)),
        0xED => (3, (0x80..=0x9F).contains(&second)),
        0xF0 => (4, (0x90..=0xBF).contains(&second)),
        0xF1..=0xF3 => (4, (0x80..=0xBF).contains(&second)),
        0xF4 => (4, (0x80..=0x8F).contains(&second)),
        _ => return None,
    };
    (ok2 && (2..n).all(cont)).then(|| n)
}

fn number(b: &[u8], start: usize, nodes: &mut Vec<Node>) -> Result<usize, ParseError> {
    let digits = |mut i: usize| {
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        i
    };
    let bad = |i: usize, reason| Err(ParseError { offset: i, reason });
    let mut i = start;
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return bad(i, "invalid number"),
    }
    if b.get(i) == Some(&b'.') {
        let d = digits(i + 1);
        if d == i + 1 {
            return bad(d, "invalid number: no digits after '.'");
        }
        i = d;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let d = digits(i);
        if d == i {
            return bad(d, "invalid number: no digits in the exponent");
        }
        i = d;
    }
    push(nodes, T_NUMBER, start, i);
    Ok(i)
}

const MISSING: u32 = u32::MAX;

/// A view of one value in a parsed document, or of a value that is not there.
///
/// Lookups never fail: `v.get("a").get("b")` on a document without `a` is a missing value, and
/// the accessors (`as_f64`, `as_str`, …) answer `None` for it. That keeps path lookups in
/// plugin code short; use [`Value::exists`] or [`Value::kind`] where absence matters.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    src: &'a str,
    nodes: &'a [Node],
    idx: u32,
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exists() {
            f.write_str(self.raw())
        } else {
            f.write_str("<missing>")
        }
    }
}

impl<'a> Value<'a> {
    /// A value that is not there.
    pub const MISSING: Value<'static> = Value { src: "", nodes: &[], idx: MISSING };

    /// The root of a tape filled by [`parse_into`] or [`parse_bytes`] from `src`.
    pub(crate) fn root_of(src: &'a str, nodes: &'a [Node]) -> Value<'a> {
        Value { src, nodes, idx: 0 }
    }

    #[inline]
    fn node(&self) -> Option<&'a Node> {
        self.nodes.get(self.idx as usize)
    }

    #[inline]
    fn at_idx(&self, idx: u32) -> Value<'a> {
        Value { src: self.src, nodes: self.nodes, idx }
    }

    /// Whether both are the same node of the same document.
    #[inline]
    pub fn same(&self, other: &Value<'_>) -> bool {
        self.idx == other.idx && std::ptr::eq(self.nodes, other.nodes)
    }

    /// Whether the value is present (it may still be `null`).
    #[inline]
    pub fn exists(&self) -> bool {
        self.node().is_some()
    }

    /// The kind of the value; `None` when it is missing.
    #[inline]
    pub fn kind(&self) -> Option<Kind> {
        Some(match self.node()?.tag {
            T_NULL => Kind::Null,
            T_FALSE | T_TRUE => Kind::Bool,
            T_NUMBER => Kind::Number,
            T_STRING | T_STRING_ESC => Kind::String,
            T_ARRAY => Kind::Array,
            _ => Kind::Object,
        })
    }

    /// Whether the value is missing or `null`, the two ways JSON says "no value".
    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self.kind(), None | Some(Kind::Null))
    }

    #[inline]
    pub fn is_object(&self) -> bool {
        self.kind() == Some(Kind::Object)
    }

    #[inline]
    pub fn is_array(&self) -> bool {
        self.kind() == Some(Kind::Array)
    }

    #[inline]
    pub fn as_bool(&self) -> Option<bool> {
        match self.node()?.tag {
            T_TRUE => Some(true),
            T_FALSE => Some(false),
            _ => None,
        }
    }

    /// The number as an f64 (the nearest one, as JSON numbers are decimal).
    #[inline]
    pub fn as_f64(&self) -> Option<f64> {
        let n = self.node()?;
        if n.tag != T_NUMBER {
            return None;
        }
        let text = &self.src[n.start as usize..n.end as usize];
        // Most numbers in inputs are small integers; skip the general decimal conversion.
        if text.len() <= 15 && text.bytes().skip(1).all(|c| c.is_ascii_digit()) {
            if let Ok(i) = text.parse::<i64>() {
                return Some(i as f64);
            }
        }
        text.parse::<f64>().ok()
    }

    /// The number as an i64 when it is an integer in range (`3`, `3.0`, `3e2`), else `None`.
    pub fn as_i64(&self) -> Option<i64> {
        let n = self.node()?;
        if n.tag != T_NUMBER {
            return None;
        }
        let text = &self.src[n.start as usize..n.end as usize];
        if let Ok(i) = text.parse::<i64>() {
            return Some(i);
        }
        let f = text.parse::<f64>().ok()?;
        if f.fract() == 0.0 && f >= -9.223_372_036_854_775e18 && f < 9.223_372_036_854_775e18 {
            Some(f as i64)
        } else {
            None
        }
    }

    /// The string, decoded. Borrowed from the input unless it has escapes.
    #[inline]
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        let n = self.node()?;
        let raw = &self.src[n.start as usize..n.end as usize];
        match n.tag {
            T_STRING => Some(Cow::Borrowed(raw)),
            T_STRING_ESC => Some(Cow::Owned(unescape(raw))),
            _ => None,
        }
    }

    /// Whether the value is the string `s`, without allocating.
    #[inline]
    pub fn str_eq(&self, s: &str) -> bool {
        match self.node() {
            Some(n) => self.node_str_eq(n, s.as_bytes()),
            None => false,
        }
    }

    /// Compares a string node with `s`: the length first, since keys mostly differ in length
    /// and a call to memcmp costs more than the comparison in WebAssembly.
    #[inline]
    fn node_str_eq(&self, n: &Node, s: &[u8]) -> bool {
        let len = (n.end - n.start) as usize;
        match n.tag {
            T_STRING => len == s.len() && &self.src.as_bytes()[n.start as usize..n.end as usize] == s,
            // An escaped string decodes to at most its raw length.
            T_STRING_ESC => len >= s.len() && self.escaped_eq(n, s),
            _ => false,
        }
    }

    #[cold]
    #[inline(never)]
    fn escaped_eq(&self, n: &Node, s: &[u8]) -> bool {
        unescape(&self.src[n.start as usize..n.end as usize]).as_bytes() == s
    }

    /// The member `key` of an object; missing when this is not an object or has no such key.
    /// With duplicate keys the first wins.
    #[inline]
    pub fn get(&self, key: &str) -> Value<'a> {
        match self.node() {
            Some(n) if n.tag == T_OBJECT => {
                let mut k = self.idx + 1;
                while k < n.next {
                    if self.node_str_eq(&self.nodes[k as usize], key.as_bytes()) {
                        return self.at_idx(k + 1);
                    }
                    k = self.nodes[k as usize + 1].next;
                }
                Value::MISSING
            }
            _ => Value::MISSING,
        }
    }

    /// Several members of an object in one pass over it: `let [a, b] = v.get_all(["a", "b"]);`.
    /// Cheaper than one [`Value::get`] per key when reading most of an object's members.
    pub fn get_all<const N: usize>(&self, keys: [&str; N]) -> [Value<'a>; N] {
        let mut out = [Value::MISSING; N];
        let n = match self.node() {
            Some(n) if n.tag == T_OBJECT => n,
            _ => return out,
        };
        let (mut k, mut left) = (self.idx + 1, N);
        while k < n.next && left > 0 {
            let key = &self.nodes[k as usize];
            for (i, want) in keys.iter().enumerate() {
                if !out[i].exists() && self.node_str_eq(key, want.as_bytes()) {
                    out[i] = self.at_idx(k + 1);
                    left -= 1;
                    break;
                }
            }
            k = self.nodes[k as usize + 1].next;
        }
        out
    }

    /// Follows object keys: `v.path(&["profile", "attributes", "points"])`.
    pub fn path(&self, keys: &[&str]) -> Value<'a> {
        let mut v = *self;
        for k in keys {
            v = v.get(k);
        }
        v
    }

    /// Element `i` of an array; missing when out of range or not an array.
    pub fn at(&self, i: usize) -> Value<'a> {
        self.elements().nth(i).unwrap_or(Value::MISSING)
    }

    /// The number of elements or members; 0 for scalars and missing values.
    pub fn len(&self) -> usize {
        match self.kind() {
            Some(Kind::Array) => self.elements().count(),
            Some(Kind::Object) => self.entries().count(),
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements of an array (nothing for other values).
    pub fn elements(&self) -> Elements<'a> {
        match self.node() {
            Some(n) if n.tag == T_ARRAY => Elements { v: *self, cur: self.idx + 1, end: n.next },
            _ => Elements { v: *self, cur: 0, end: 0 },
        }
    }

    /// The members of an object in document order (nothing for other values).
    pub fn entries(&self) -> Entries<'a> {
        match self.node() {
            Some(n) if n.tag == T_OBJECT => Entries { v: *self, cur: self.idx + 1, end: n.next },
            _ => Entries { v: *self, cur: 0, end: 0 },
        }
    }

    /// The value's JSON text as it appears in the input ("" when missing).
    pub fn raw(&self) -> &'a str {
        match self.node() {
            None => "",
            Some(n) if n.tag == T_STRING || n.tag == T_STRING_ESC => {
                &self.src[n.start as usize - 1..n.end as usize + 1]
            }
            Some(n) => &self.src[n.start as usize..n.end as usize],
        }
    }

    /// An owned copy, e.g. to return part of the input in an output.
    pub fn to_json(&self) -> Json {
        match self.kind() {
            None | Some(Kind::Null) => Json::Null,
            Some(Kind::Bool) => Json::Bool(self.as_bool() == Some(true)),
            Some(Kind::Number) => Json::Number(self.as_f64().unwrap_or(0.0)),
            Some(Kind::String) => Json::String(self.as_str().unwrap_or_default().into_owned()),
            Some(Kind::Array) => Json::Array(self.elements().map(|e| e.to_json()).collect()),
            Some(Kind::Object) => {
                Json::Object(self.entries().map(|(k, v)| (k.into_owned(), v.to_json())).collect())
            }
        }
    }
}

/// Iterator over an array's elements.
pub struct Elements<'a> {
    v: Value<'a>,
    cur: u32,
    end: u32,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;
    fn next(&mut self) -> Option<Value<'a>> {
        if self.cur >= self.end {
            return None;
        }
        let v = self.v.at_idx(self.cur);
        self.cur = self.v.nodes[self.cur as usize].next;
        Some(v)
    }
}

/// Iterator over an object's members.
pub struct Entries<'a> {
    v: Value<'a>,
    cur: u32,
    end: u32,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Cow<'a, str>, Value<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.cur >= self.end {
            return None;
        }
        let key = self.v.at_idx(self.cur).as_str().unwrap_or_default();
        let val = self.v.at_idx(self.cur + 1);
        self.cur = self.v.nodes[self.cur as usize + 1].next;
        Some((key, val))
    }
}

/// Decodes the text between a string's quotes; the parser has checked its escapes.
/// A lone UTF-16 surrogate becomes U+FFFD, as the host's Go decoder does.
fn unescape(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < b.len() {
        let run = i;
        while i < b.len() && b[i] != b'\\' {
            i += 1;
        }
        out.push_str(&raw[run..i]);
        if i >= b.len() {
            break;
        }
        let c = match b[i + 1] {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&b[i + 2..i + 6]);
                i += 6;
                let c = if (0xD800..0xDC00).contains(&hi)
                    && b.len() >= i + 6
                    && b[i] == b'\\'
                    && b[i + 1] == b'u'
                    && (0xDC00..0xE000).contains(&hex4(&b[i + 2..i + 6]))
                {
                    let lo = hex4(&b[i + 2..i + 6]);
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                } else {
                    char::from_u32(hi)
                };
                out.push(c.unwrap_or('\u{FFFD}'));
                continue;
            }
            other => other as char, // '"', '\\', '/'
        };
        out.push(c);
        i += 2;
    }
    out
}

fn hex4(h: &[u8]) -> u32 {
    h.iter().fold(0, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => c - b'A' + 10,
        };
        acc * 16 + d as u32
    })
}

/// An owned JSON value, for building outputs and request bodies.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Members in order; keys should be unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An empty object, to fill with [`Json::with`].
    pub fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// Adds a member to an object (no-op on other values); for chaining.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Json>) -> Json {
        if let Json::Object(m) = &mut self {
            m.push((key.into(), value.into()));
        }
        self
    }

    /// Appends the value's JSON text to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Number(f) => write_f64(out, *f),
            Json::String(s) => write_str(out, s),
            Json::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_to(out);
                }
                out.push(b']');
            }
            Json::Object(m) => {
                out.push(b'{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    v.write_to(out);
                }
                out.push(b'}');
            }
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        // write_to only produces UTF-8.
        f.write_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}
impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Number(v)
    }
}
impl From<i64> for Json {
    fn from(v: i64) -> Json {
        Json::Number(v as f64)
    }
}
impl From<i32> for Json {
    fn from(v: i32) -> Json {
        Json::Number(v as f64)
    }
}
impl From<u32> for Json {
    fn from(v: u32) -> Json {
        Json::Number(v as f64)
    }
}
impl From<&str> for Json {
    fn from(v: &str) -> Json {
        Json::String(v.to_owned())
    }
}
impl From<String> for Json {
    fn from(v: String) -> Json {
        Json::String(v)
    }
}
impl From<Vec<Json>> for Json {
    fn from(v: Vec<Json>) -> Json {
        Json::Array(v)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}
impl From<Value<'_>> for Json {
    fn from(v: Value<'_>) -> Json {
        v.to_json()
    }
}

static HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string, escaping what JSON requires.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &c) in b.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        out.extend_from_slice(&b[run..i]);
        run = i + 1;
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
        }
    }
    out.extend_from_slice(&b[run..]);
    out.push(b'"');
}

/// Appends a number. JSON has no NaN or infinities: they are written as `null`.
pub fn write_f64(out: &mut Vec<u8>, f: f64) {
    use std::io::Write;
    if !f.is_finite() {
        out.extend_from_slice(b"null");
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        write_i64(out, f as i64);
    } else {
        // Debug is the shortest text that reads back as the same f64, with an exponent for
        // very large and small magnitudes; all of its forms are valid JSON.
        let _ = write!(out, "{:?}", f);
    }
}

/// Appends an integer.
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_values_and_looks_them_up() {
        let doc = Document::parse(r#" {"a":{"b":[1,-2.5e1,true,null,"x"]},"c":"d","e":{}} "#).unwrap();
        let r = doc.root();
        let arr = r.path(&["a", "b"]);
        assert_eq!(arr.len(), 5);
        assert_eq!(arr.at(0).as_f64(), Some(1.0));
        assert_eq!(arr.at(1).as_f64(), Some(-25.0));
        assert_eq!(arr.at(2).as_bool(), Some(true));
        assert!(arr.at(3).is_null() && arr.at(3).exists());
        assert_eq!(arr.at(4).as_str().as_deref(), Some("x"));
        assert!(!arr.at(5).exists());
        assert_eq!(r.get("c").as_str().as_deref(), Some("d"));
        assert_eq!(r.get("e").len(), 0);
        assert!(!r.get("zz").get("y").exists());
        assert_eq!(r.get("a").raw(), r#"{"b":[1,-2.5e1,true,null,"x"]}"#);
        let [e, c, z] = r.get_all(["e", "c", "z"]);
        assert!(e.is_object() && c.str_eq("d") && !z.exists());
        let keys: Vec<_> = r.entries().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(keys, ["a", "c", "e"]);
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let doc = Document::parse(r#"["a\"b\\c\/\n\t\u00e9\ud83d\ude00", "\ud800x", "k\u0041y"]"#).unwrap();
        let r = doc.root();
        assert_eq!(r.at(0).as_str().unwrap(), "a\"b\\c/\n\té😀");
        assert_eq!(r.at(1).as_str().unwrap(), "\u{FFFD}x");
        assert!(r.at(2).str_eq("kAy"));
        let obj = Document::parse(r#"{"k\u0041y":1}"#).unwrap();
        assert_eq!(obj.root().get("kAy").as_i64(), Some(1));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "1e", "+1", "tru", "nul",
            "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"a\nb\"", "[1 2]", "{} {}", "{'a':1}", "[1]]", "NaN",
        ] {
            assert!(Document::parse(bad).is_err(), "accepted {:?}", bad);
        }
    }

    #[test]
    fn checks_utf8_in_strings() {
        let mut nodes = Vec::new();
        for good in ["\"é😀€\"".as_bytes(), b"[\"\xc3\xa9\",\"\xef\xbf\xbf\"]"] {
            assert!(parse_bytes(good, &mut nodes).is_ok(), "rejected {:?}", good);
        }
        for bad in [
            &b"\"\xff\""[..], b"\"\xc3\"", b"\"\xc0\xaf\"", b"\"\xed\xa0\x80\"", b"\"\xf4\x90\x80\x80\"",
            b"\"\xe2\x82\"", b"{\"a\xe9\":1}", b"\xef\xbb\xbf{}", b"[1]\x80",
        ] {
            assert!(parse_bytes(bad, &mut nodes).is_err(), "accepted {:?}", bad);
        }
        // Long ASCII runs go through the eight-byte scan; the special byte may sit anywhere.
        for pos in 0..20 {
            let mut s = vec![b'"'];
            s.extend(std::iter::repeat(b'a').take(20));
            s.push(b'"');
            s[1 + pos] = b'\n';
            assert!(parse_bytes(&s, &mut nodes).is_err(), "accepted a newline at {}", pos);
            s[1 + pos] = 0xC3;
            assert!(parse_bytes(&s, &mut nodes).is_err(), "accepted a lone lead byte at {}", pos);
        }
    }

    #[test]
    fn caps_nesting_depth() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Document::parse(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(Document::parse(&deep).unwrap_err().reason, "nesting deeper than 64 levels");
        let hostile = "[".repeat(1 << 20);
        assert!(Document::parse(&hostile).is_err());
    }

    /// Mutates valid documents at random: nothing may panic, and every document that parses
    /// must survive a write and parse round trip.
    #[test]
    fn fuzz_mutations() {
        let seeds: [&[u8]; 2] = [
            br#"{"abi":1,"config":{"tier":"gold"},"event":{"data":{"total":42.5}},"s":"a\u00e9\ud83d\ude00\n"}"#,
            "[[[{\"a\":[1,2,{\"b\":null}]}]],true,false,-1.5e-3,\"é€😀\"]".as_bytes(),
        ];
        let alphabet = b"{}[],:\"\\/-+.0123456789eEtrufalsn u\xc3\xa9\xff\x80\t\n";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut nodes = Vec::new();
        for iter in 0..200_000usize {
            let mut buf = seeds[iter % 2].to_vec();
            for _ in 0..1 + iter % 4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x % (buf.len() as u64 + 1)) as usize;
                let c = alphabet[((x >> 20) % alphabet.len() as u64) as usize];
                match (x >> 40) % 3 {
                    0 if at < buf.len() => buf[at] = c,
                    1 => buf.insert(at, c),
                    2 if at < buf.len() => {
                        buf.remove(at);
                    }
                    _ => {}
                }
            }
            let src = match parse_bytes(&buf, &mut nodes) {
                Ok(s) => s,
                Err(_) => continue,
            };
            let once = Value::root_of(src, &nodes).to_json().to_string();
            let doc = Document::parse(&once).unwrap_or_else(|e| panic!("rewrite of {:?} does not parse: {}", src, e));
            assert_eq!(doc.root().to_json().to_string(), once, "round trip of {:?}", src);
        }
    }

    #[test]
    fn numbers() {
        let doc = Document::parse("[0, -0, 12345678901234567890, 1.5, 3e2, 9007199254740993, -7]").unwrap();
        let r = doc.root();
        assert_eq!(r.at(2).as_f64(), Some(12345678901234567890.0));
        assert_eq!(r.at(2).as_i64(), None);
        assert_eq!(r.at(3).as_i64(), None);
        assert_eq!(r.at(4).as_i64(), Some(300));
        assert_eq!(r.at(5).as_i64(), Some(9007199254740993));
        assert_eq!(r.at(6).as_f64(), Some(-7.0));
    }

    #[test]
    fn writes_round_trip() {
        let v = Json::object()
            .with("s", "q\"\\\u{1}\n é")
            .with("n", 0.1)
            .with("i", -42i64)
            .with("big", 1e300)
            .with("nan", f64::NAN)
            .with("a", vec![Json::Bool(true), Json::Null]);
        let text = v.to_string();
        assert_eq!(text, r#"{"s":"q\"\\\u0001\n é","n":0.1,"i":-42,"big":1e300,"nan":null,"a":[true,null]}"#);
        let doc = Document::parse(&text).unwrap();
        assert_eq!(doc.root().get("s").as_str().unwrap(), "q\"\\\u{1}\n é");
        assert_eq!(doc.root().to_json().to_string(), text);
    }
}
