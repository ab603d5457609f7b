//! Laying text out in columns without breaking a name, an address or a fingerprint.
//!
//! A cell is words separated by spaces (a no-break space, U+00A0, joins words that belong
//! together, such as `DNS AAAA`; it is written as a space). Lines break between words. A
//! word wider than its column breaks only at a boundary: after a `.` that is followed by a
//! letter (so `192.0.2.10` never breaks), after a `_`, or before a `/` (not inside `//`).
//! A piece between two boundaries that is still too wide is shortened in the middle
//! (`autod…le.com`); the full value is in the JSON output.
//!
//! Column widths follow the content: a column is as wide as its widest cell, and when the
//! row does not fit, the columns with the most room to spare wrap first, between words,
//! then at boundaries, and only then are pieces shortened.

/// The no-break space that keeps words together in a cell.
pub const NBSP: char = '\u{a0}';

/// Display width of a cell piece (one column per character).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// Whether a word may break between byte offset `i - 1` and `i`.
fn boundary(chars: &[char], i: usize) -> bool {
    let (Some(prev), Some(next)) = (i.checked_sub(1).and_then(|j| chars.get(j)), chars.get(i))
    else {
        return false;
    };
    match (*prev, *next) {
        ('.', n) => n.is_alphabetic(),
        ('_', _) => true,
        ('/', '/') => false,
        (p, '/') => p != ':' && p != '/',
        _ => false,
    }
}

/// The pieces of one word, split at its boundaries.
pub fn atoms(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, c) in chars.iter().enumerate() {
        if boundary(&chars, i) && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(*c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `s` shortened in the middle to `max` columns (`…` marks the cut).
pub fn shorten(s: &str, max: usize) -> String {
    let n = width(s);
    if n <= max {
        return s.to_string();
    }
    if max <= 1 {
        return "…".chars().take(max).collect();
    }
    let keep = max - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars.iter().take(head).collect();
    out.push('…');
    out.extend(chars.iter().skip(n - tail));
    out
}

/// Lines of `text` at most `max` columns wide (`None`: no limit). The first line has
/// `max - first` columns, the others `max - rest` (the caller writes the indentation).
/// Runs of spaces inside a line are kept.
pub fn wrap_words(text: &str, max: Option<usize>, first: usize, rest: usize) -> Vec<String> {
    let Some(max) = max else {
        return vec![text.to_string()];
    };
    let mut w = Wrapper {
        lines: Vec::new(),
        line: String::new(),
        first_room: max.saturating_sub(first).max(1),
        rest_room: max.saturating_sub(rest).max(1),
        spaces: 0,
    };
    for word in text.split(' ') {
        if word.is_empty() {
            w.spaces += 1;
            continue;
        }
        w.word(word);
    }
    w.lines.push(w.line);
    w.lines
}

struct Wrapper {
    lines: Vec<String>,
    line: String,
    first_room: usize,
    rest_room: usize,
    /// Spaces beyond the one between two words, kept when the next word stays on the line.
    spaces: usize,
}

impl Wrapper {
    fn room(&self) -> usize {
        if self.lines.is_empty() {
            self.first_room
        } else {
            self.rest_room
        }
    }

    fn push_line(&mut self) {
        self.lines.push(std::mem::take(&mut self.line));
    }

    fn word(&mut self, word: &str) {
        let used = width(&self.line);
        let sep = if used > 0 { 1 + self.spaces } else { 0 };
        self.spaces = 0;
        if used + sep + width(word) <= self.room() {
            self.line.push_str(&" ".repeat(sep));
            self.line.push_str(word);
            return;
        }
        if used > 0 && width(word) <= self.rest_room {
            self.push_line();
            self.line.push_str(word);
            return;
        }
        // Words kept together by no-break spaces part first.
        if word.contains(NBSP) {
            for part in word.split(NBSP).filter(|p| !p.is_empty()) {
                self.word(part);
            }
            return;
        }
        // Too wide for a line of its own: broken at its boundaries (the first pieces stay
        // on this line when they fit), a piece still too wide shortened in the middle.
        let mut started = false;
        for a in atoms(word) {
            let used = width(&self.line);
            let sep = usize::from(used > 0 && !started);
            if used + sep + width(&a) <= self.room() {
                self.line.push_str(&" ".repeat(sep));
                self.line.push_str(&a);
            } else {
                if used > 0 {
                    self.push_line();
                }
                let piece = shorten(&a, self.rest_room);
                self.line.push_str(&piece);
            }
            started = true;
        }
    }
}

/// `text` word-wrapped to `max` columns, lines after the first indented by `indent`.
pub fn wrap_indented(text: &str, max: Option<usize>, indent: usize) -> String {
    let body = text.trim_start_matches(' ');
    let lead = width(text) - width(body);
    let lines = wrap_words(body, max, lead, indent);
    let mut out = " ".repeat(lead);
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(l);
    }
    out.replace(NBSP, " ")
}

/// The narrowest a column may go in one pass, by column index.
type Floor<'a> = dyn Fn(usize, &Measure) -> usize + 'a;

/// One column's measures over all its cells.
#[derive(Clone, Copy, Default)]
struct Measure {
    /// The widest cell on one line.
    natural: usize,
    /// The widest word.
    word: usize,
    /// The widest piece between boundaries.
    atom: usize,
    /// The widest piece between boundaries and no-break spaces.
    loose: usize,
    /// The floor: the widest header word.
    floor: usize,
}

fn measure(cells: &[&str], header: &str) -> Measure {
    let mut m = Measure::default();
    for c in cells.iter().copied().chain(std::iter::once(header)) {
        m.natural = m.natural.max(width(c));
        for w in c.split(' ') {
            m.word = m.word.max(width(w));
            for a in atoms(w) {
                m.atom = m.atom.max(width(&a));
            }
            for a in w.split(NBSP).flat_map(atoms) {
                m.loose = m.loose.max(width(&a));
            }
        }
    }
    m.floor = header.split(' ').map(width).max().unwrap_or(1).max(4);
    m
}

/// Column widths for `header` and `rows` within `max` columns (`None`: no limit), `gap`
/// columns between columns. Only the columns `may_shorten` marks are narrowed below their
/// widest piece (their pieces are then shortened in the middle), unless nothing else fits.
pub fn widths(
    header: &[&str],
    rows: &[Vec<String>],
    max: Option<usize>,
    gap: usize,
    may_shorten: &[bool],
    whole: &[bool],
) -> Vec<usize> {
    let measures: Vec<Measure> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let cells: Vec<&str> = rows
                .iter()
                .filter_map(|r| r.get(i).map(String::as_str))
                .collect();
            measure(&cells, h)
        })
        .collect();
    let mut w: Vec<usize> = measures.iter().map(|m| m.natural).collect();
    let Some(max) = max else {
        return w;
    };
    let total = |w: &[usize]| w.iter().sum::<usize>() + gap * w.len().saturating_sub(1);
    // Wrap between words, then at boundaries, then between words kept together, then
    // shorten the columns that may be, then any.
    let floors: [&Floor<'_>; 5] = [
        &|_, m| m.word.max(m.floor),
        &|_, m| m.atom.max(m.floor),
        &|_, m| m.loose.max(m.floor),
        &|i, m| {
            if may_shorten.get(i).copied().unwrap_or(false) {
                m.floor
            } else {
                m.loose.max(m.floor)
            }
        },
        // The last resort shortens any column but those kept whole (times, verdicts):
        // the table is then wider than asked.
        &|i, m| {
            if whole.get(i).copied().unwrap_or(false) {
                m.loose.max(m.floor)
            } else {
                m.floor
            }
        },
    ];
    for floor in floors {
        while total(&w) > max {
            let pick = w
                .iter()
                .zip(&measures)
                .enumerate()
                .filter(|(i, (w, m))| **w > floor(*i, m))
                .max_by_key(|(i, (w, m))| (**w - floor(*i, m), *i))
                .map(|(i, _)| i);
            match pick.and_then(|i| w.get_mut(i)) {
                Some(x) => *x -= 1,
                None => break,
            }
        }
    }
    w
}

/// The lines of one cell at `w` columns.
pub fn cell_lines(cell: &str, w: usize) -> Vec<String> {
    if cell.is_empty() {
        return vec![String::new()];
    }
    wrap_words(cell, Some(w), 0, 0)
}

/// Lays one row out: each cell wrapped to its column, padded, `gap` spaces apart; `paint`
/// colours a column's text (not its padding). Trailing spaces are trimmed.
pub fn row_lines(
    cells: &[String],
    w: &[usize],
    gap: usize,
    paint: &dyn Fn(usize, &str) -> String,
) -> Vec<String> {
    let wrapped: Vec<Vec<String>> = cells
        .iter()
        .zip(w)
        .map(|(c, w)| cell_lines(c.trim(), *w))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|i| {
            let mut line = String::new();
            let mut pending = 0;
            for (col, (lines, w)) in wrapped.iter().zip(w).enumerate() {
                let text = lines.get(i).map(String::as_str).unwrap_or("");
                if !text.is_empty() {
                    line.push_str(&" ".repeat(pending));
                    line.push_str(&paint(col, &text.replace(NBSP, " ")));
                    pending = 0;
                }
                pending += w.saturating_sub(width(text)) + gap;
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_never_break_names_break_after_dots() {
        assert_eq!(atoms("192.0.2.10:443"), vec!["192.0.2.10:443"]);
        assert_eq!(
            atoms("ex7.mailhost.example"),
            vec!["ex7.", "mailhost.", "example"]
        );
        assert_eq!(
            atoms("https://a.example/x/y.xml"),
            vec!["https://a.", "example", "/x", "/y.", "xml"]
        );
        assert_eq!(atoms("t13d1516h2_8daaf6152771_e5627efa2ab1").len(), 3);
    }

    #[test]
    fn long_words_break_at_boundaries_and_pieces_are_shortened_in_the_middle() {
        assert_eq!(
            wrap_words("autodiscover.example.com", Some(14), 0, 0),
            vec!["autodiscover.", "example.com"]
        );
        assert_eq!(shorten("autodiscover", 7), "aut…ver");
        assert_eq!(
            wrap_words("A\u{a0}192.0.2.10, A\u{a0}192.0.2.11", Some(14), 0, 0),
            vec!["A\u{a0}192.0.2.10,", "A\u{a0}192.0.2.11"]
        );
    }

    #[test]
    fn columns_fit_and_wrap_the_roomiest_first() {
        let rows = vec![vec!["a".to_string(), "one two three four".to_string()]];
        let w = widths(&["x", "y"], &rows, Some(14), 2, &[false, true], &[]);
        assert_eq!(w, vec![1, 11]);
        let w = widths(&["x", "y"], &rows, None, 2, &[false, true], &[]);
        assert_eq!(w, vec![1, 18]);
    }
}
