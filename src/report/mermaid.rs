//! `--format mermaid`: the sequence diagrams of [`super::sequence`] as Mermaid text, one
//! diagram per attempt group (and per client for probes in no group), each beginning
//! with its own `sequenceDiagram` line and separated by a blank line; with
//! `--mermaid-fences`, each inside a Markdown ```` ```mermaid ```` fence.
//!
//! Text from the capture is written with Mermaid's entity codes for the characters that
//! could end a statement or open an entity or a tag (`;`, `<`, `>`, `&`: `#59;`, `#lt;`,
//! `#gt;`, `#amp;`), and on one line, so a name cannot start a statement of its own.

use super::sequence::{self, Diagram, Item};
use super::text;
use crate::correlate::Verdict;

/// One line of text for Mermaid: entity codes for its syntax characters, no line breaks.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One diagram as Mermaid text (no fence).
pub fn diagram(d: &Diagram) -> String {
    let mut s = String::from("sequenceDiagram\n");
    s.push_str(&format!("    title {}\n", escape(&d.title)));
    for a in &d.actors {
        s.push_str(&format!(
            "    participant {} as {}\n",
            a.id,
            escape(&a.label)
        ));
    }
    let id = |i: usize| d.actors.get(i).map_or("C", |a| a.id.as_str());
    for item in &d.items {
        match item {
            Item::Arrow {
                from,
                to,
                text,
                reply,
                failed,
            } => {
                let arrow = match (reply, failed) {
                    (false, _) => "->>",
                    (true, false) => "-->>",
                    (true, true) => "--x",
                };
                s.push_str(&format!(
                    "    {}{arrow}{}: {}\n",
                    id(*from),
                    id(*to),
                    escape(text)
                ));
            }
            Item::Note {
                from,
                to,
                text,
                verdict,
            } => {
                let over = if from == to {
                    id(*from).to_string()
                } else {
                    format!("{},{}", id(*from), id(*to))
                };
                let mark = match verdict {
                    Some(Verdict::Mismatch) => "✗ ",
                    Some(Verdict::Match) => "✓ ",
                    Some(Verdict::Unverified | Verdict::NoName) | None => "",
                };
                s.push_str(&format!("    Note over {over}: {mark}{}\n", escape(text)));
            }
        }
    }
    s
}

/// The Mermaid format (written at the end: a diagram needs its group complete).
pub struct MermaidWriter {
    fences: bool,
    /// The probes of a streamed report (live, or a capture file over its bound), bounded.
    kept: super::Kept,
}

impl MermaidWriter {
    pub fn new(opts: super::Options) -> Self {
        MermaidWriter {
            fences: opts.mermaid_fences,
            kept: super::Kept::default(),
        }
    }
}

impl super::Writer for MermaidWriter {
    fn probe(
        &mut self,
        p: &crate::correlate::Probe,
        _: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        self.kept.push(p);
        Ok(())
    }

    fn finish(
        &mut self,
        end: &super::End<'_>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let dropped = self.kept.dropped;
        let report = self.kept.report(end);
        let diagrams = sequence::diagrams(&report);
        if dropped > 0 {
            writeln!(out, "%% {}", text::not_kept(dropped))?;
        }
        if diagrams.is_empty() {
            // A comment: still a valid (empty) Mermaid input.
            writeln!(out, "%% {}", text::NO_PROBES)?;
        }
        for (i, d) in diagrams.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            if self.fences {
                writeln!(out, "```mermaid")?;
            }
            out.write_all(diagram(d).as_bytes())?;
            if self.fences {
                writeln!(out, "```")?;
            }
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn capture_text_cannot_end_a_statement_or_open_a_tag() {
        assert_eq!(
            escape("a;b<script>&c\nNote over C: x"),
            "a#59;b#lt;script#gt;#amp;c Note over C: x"
        );
    }
}
