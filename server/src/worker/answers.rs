//! Which answers a prompt on screen takes, and how each is typed: the built-in rules (Claude
//! Code's numbered menu, answered by the digit alone; `[y/N]`, `(y/n)` and `(yes/no)` prompts,
//! answered by the word and Enter) and a preset's `[[presets.answers]]`.
//!
//! Runs on the screen thread right after a prompt pattern matched, on the same tail lines, so
//! the question published and the answers offered always describe the same screen.

use super::pattern::{Pattern, PatternError};
use regex::Regex;
use std::sync::LazyLock;
use std::time::Duration;

/// Default of a preset's `auto-answer-delay-ms`: long enough to read the prompt and press `a`.
pub const DEFAULT_AUTO_ANSWER_DELAY: Duration = Duration::from_secs(3);

/// The line of a numbered menu that has the cursor (`❯ 1. Yes`): marks a menu prompt.
pub const MENU_PATTERN: &str = r"❯\s*\d+\.";

/// Most choices a menu offers (the keys are the digits `1`-`9`).
const MAX_MENU_CHOICES: usize = 9;

/// One choice of a menu line: an optional cursor mark, a digit, `.` or `)`, the text.
static MENU_CHOICE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:[❯>›]\s*)?([1-9])[.)]\s+(\S.*)$").ok());

/// The answers a rule offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerKeys {
    /// The digits of the numbered menu on screen.
    Menu,
    /// These words.
    Fixed(Vec<String>),
}

/// A rule: prompts matching `pattern` take `keys`, followed by Enter when `enter`.
#[derive(Debug, Clone)]
pub struct AnswerRule {
    pattern: Pattern,
    keys: AnswerKeys,
    enter: bool,
}

impl AnswerRule {
    /// A rule; the error names a pattern that does not compile.
    pub fn new(pattern: &str, keys: AnswerKeys, enter: bool) -> Result<Self, PatternError> {
        Ok(Self { pattern: Pattern::new(pattern)?, keys, enter })
    }
}

/// The built-in rules, tried after a preset's own.
pub fn builtin_rules() -> Vec<AnswerRule> {
    let fixed = |words: &[&str]| AnswerKeys::Fixed(words.iter().map(|w| (*w).to_owned()).collect());
    [
        (MENU_PATTERN, AnswerKeys::Menu, false),
        (r"(?i)\(yes/no(/\[fingerprint\])?\)", fixed(&["yes", "no"]), true),
        (r"(?i)[\[(]y/n[\])]", fixed(&["y", "n"]), true),
        (r"\(Y\)es/\(N\)o", fixed(&["y", "n"]), true),
    ]
    .into_iter()
    // The built-in patterns are tested to compile (see tests); skip rather than panic.
    .filter_map(|(p, keys, enter)| AnswerRule::new(p, keys, enter).ok())
    .collect()
}

/// The question a prompt asks and the answers it takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Question {
    /// The question line, with a menu's choices after it.
    pub text: String,
    /// The answers (`["1","2"]`, `["y","n"]`); empty when no rule matched.
    pub answers: Vec<String>,
    /// Whether an answer is followed by Enter.
    pub enter: bool,
}

/// What `line` (the line a prompt pattern matched, one of `tail`) asks, by the first of `rules`
/// that applies: a menu rule looks for a numbered menu in `tail`, a fixed rule must match `line`.
pub fn question(rules: &[AnswerRule], tail: &[String], line: &str) -> Question {
    for rule in rules {
        match &rule.keys {
            AnswerKeys::Menu => {
                if let Some(q) = menu(&rule.pattern, tail, rule.enter) {
                    return q;
                }
            }
            AnswerKeys::Fixed(words) if rule.pattern.is_match(line) => {
                return Question { text: clean(line), answers: words.clone(), enter: rule.enter };
            }
            AnswerKeys::Fixed(_) => {}
        }
    }
    Question { text: clean(line), answers: Vec::new(), enter: true }
}

/// A menu line without the box it may be drawn in.
fn clean(line: &str) -> String {
    line.trim().trim_matches(|c: char| "│|┃".contains(c)).trim().to_owned()
}

/// The numbered menu around the last line of `tail` matching `marker`: the choices above and
/// below it, and the nearest other line above them as the question.
fn menu(marker: &Pattern, tail: &[String], enter: bool) -> Option<Question> {
    let choice_re = MENU_CHOICE.as_ref()?;
    let at = tail.iter().rposition(|l| marker.is_match(l))?;
    let lines: Vec<String> = tail.iter().map(|l| clean(l)).collect();
    let is_choice = |l: &str| choice_re.is_match(l);
    let mut start = at;
    while start > 0 && is_choice(&lines[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < lines.len() && is_choice(&lines[end]) {
        end += 1;
    }
    let mut answers = Vec::new();
    let mut shown = Vec::new();
    for line in lines.get(start..end)?.iter().take(MAX_MENU_CHOICES) {
        let caps = choice_re.captures(line)?;
        answers.push(caps[1].to_owned());
        shown.push(line.clone());
    }
    if answers.is_empty() {
        return None;
    }
    let asked = lines[..start].iter().rev().find(|l| !l.is_empty());
    let text = match asked {
        Some(q) => format!("{q} {}", shown.join("  ")),
        None => shown.join("  "),
    };
    Some(Question { text, answers, enter })
}

/// The bytes that answer `question` with `answer`, if it is one of its answers: the answer, and
/// Enter when the prompt takes one.
pub fn answer_bytes(question: &Question, answer: &str) -> Option<Vec<u8>> {
    if !question.answers.iter().any(|a| a == answer) {
        return None;
    }
    let mut bytes = answer.as_bytes().to_vec();
    if question.enter {
        bytes.push(b'\r');
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn built_in_rules_compile() {
        assert_eq!(builtin_rules().len(), 4);
    }

    #[test]
    fn a_claude_menu_offers_its_digits_without_enter() {
        let tail = lines(&[
            "╭──────────────────────────╮",
            "│ Bash command             │",
            "│ Do you want to proceed?  │",
            "│ ❯ 1. Yes                 │",
            "│   2. Yes, and don't ask again │",
            "│   3. No, and tell Claude what to do differently (esc) │",
            "╰──────────────────────────╯",
        ]);
        let q = question(&builtin_rules(), &tail, &tail[3]);
        assert_eq!(q.answers, ["1", "2", "3"]);
        assert!(!q.enter);
        assert_eq!(
            q.text,
            "Do you want to proceed? ❯ 1. Yes  2. Yes, and don't ask again  \
             3. No, and tell Claude what to do differently (esc)"
        );
        assert_eq!(answer_bytes(&q, "2"), Some(b"2".to_vec()));
        assert_eq!(answer_bytes(&q, "4"), None);
        assert_eq!(answer_bytes(&q, "y"), None);
    }

    #[test]
    fn yes_no_prompts_take_the_word_and_enter() {
        let rules = builtin_rules();
        let q = question(&rules, &[], "  Continue? [y/N] ");
        assert_eq!(
            (q.text.as_str(), q.answers.clone(), q.enter),
            ("Continue? [y/N]", lines(&["y", "n"]), true)
        );
        assert_eq!(answer_bytes(&q, "y"), Some(b"y\r".to_vec()));
        let q = question(&rules, &[], "Are you sure you want to continue connecting (yes/no/[fingerprint])?");
        assert_eq!(q.answers, ["yes", "no"]);
        let q = question(&rules, &[], "Add file to the chat? (Y)es/(N)o/(D)on't ask again [Yes]:");
        assert_eq!(q.answers, ["y", "n"]);
        let q = question(&rules, &[], "[sudo] password for ann:");
        assert!(q.answers.is_empty(), "a password prompt has no preset answers");
        assert_eq!(answer_bytes(&q, "y"), None);
    }

    #[test]
    fn a_presets_rule_comes_first() {
        let mut rules = vec![
            AnswerRule::new(r"Ship it\?", AnswerKeys::Fixed(lines(&["ok", "cancel"])), false).expect("rule"),
        ];
        rules.extend(builtin_rules());
        let q = question(&rules, &[], "Ship it? [y/n]");
        assert_eq!((q.answers, q.enter), (lines(&["ok", "cancel"]), false));
        assert!(AnswerRule::new("(", AnswerKeys::Menu, false).is_err());
    }
}
