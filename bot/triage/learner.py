"""What the company teaches: a small linear model over word and character n-grams.

Why pure Python and not scikit-learn: the company labels a few hundred to a few
thousand tickets, which a multinomial logistic regression trained by SGD handles in a
second or two; predicting is ~150 dictionary look-ups (well under a millisecond); the
weights are plain ``{feature: [weight per label]}``, so "why" is the features that
pushed hardest, shown as the customer's words. No extra dependency, nothing downloaded.

``choose`` decides, per field, whether a freshly trained model may replace the rules:
only when it scores better on held-back examples of the company's own decisions (and,
for Prioridad, finds at least as many of the held-back Alta), so it is never worse than
day one on what the company actually decided.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.triage.normalise import Normalised

MODEL = "modelo"
EPOCHS = 14
LEARNING_RATE = 0.5
L2 = 1e-4
HOLD_BACK_EVERY = 4  # every 4th example (by age) is held back to judge the model
MIN_HELD_BACK = 8


def features(norm: Normalised) -> dict[str, float]:
    """Binary word unigrams and bigrams, and character 3- and 4-grams inside words,
    scaled so long and short messages weigh the same."""
    feats: set[str] = set()
    tokens = [t for t in norm.tokens if t not in ("!",)]
    for i, tok in enumerate(tokens):
        feats.add(f"w:{tok}")
        if i:
            feats.add(f"b:{tokens[i - 1]} {tok}")
        padded = f"<{tok}>"
        for n in (3, 4):
            for j in range(len(padded) - n + 1):
                feats.add(f"c:{padded[j:j + n]}")
    if not feats:
        return {}
    value = 1.0 / math.sqrt(len(feats))
    return dict.fromkeys(feats, value)


@dataclass
class LinearModel:
    labels: tuple[str, ...]
    weights: dict[str, list[float]] = field(default_factory=dict)
    bias: list[float] = field(default_factory=list)

    def scores(self, feats: dict[str, float]) -> list[float]:
        out = list(self.bias)
        for name, value in feats.items():
            w = self.weights.get(name)
            if w is not None:
                for k in range(len(out)):
                    out[k] += w[k] * value
        return out

    def predict(self, norm: Normalised) -> tuple[str, float, tuple[str, ...]]:
        """(label, probability, the customer's words that pushed hardest for it)."""
        feats = features(norm)
        probs = _softmax(self.scores(feats))
        best = max(range(len(probs)), key=lambda k: probs[k])
        return self.labels[best], probs[best], self._why(norm, feats, best)

    def _why(self, norm: Normalised, feats: dict[str, float], k: int) -> tuple[str, ...]:
        pushes: list[tuple[float, str]] = []
        for name, value in feats.items():
            if name[0] not in "wb":
                continue  # character n-grams help the guess but read badly as reasons
            w = self.weights.get(name)
            if w is None:
                continue
            margin = w[k] * value - max(w[j] * value for j in range(len(w)) if j != k)
            if margin > 0:
                pushes.append((margin, name[2:]))
        words: list[str] = []
        for _, phrase in sorted(pushes, reverse=True):
            shown = _customer_words(norm, phrase)
            if shown and shown not in words:
                words.append(shown)
            if len(words) == 3:
                break
        return tuple(f"aprendido: «{w}»" for w in words)


def _customer_words(norm: Normalised, phrase: str) -> str:
    at = f" {norm.text} ".find(f" {phrase} ")
    return norm.original_of(at, at + len(phrase)).strip() if at >= 0 else ""


def _softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def train(examples: Sequence[tuple[Normalised, str]], labels: Sequence[str],
          seed: int = 7) -> LinearModel:
    """Multinomial logistic regression by SGD (deterministic for a given seed)."""
    model = LinearModel(tuple(labels), {}, [0.0] * len(labels))
    index = {label: k for k, label in enumerate(labels)}
    data = [(features(norm), index[label]) for norm, label in examples if label in index]
    order = list(range(len(data)))
    rng = random.Random(seed)
    n_labels = len(labels)
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        rate = LEARNING_RATE / (1 + epoch * 0.3)
        for i in order:
            feats, gold = data[i]
            probs = _softmax(model.scores(feats))
            grads = [probs[k] - (1.0 if k == gold else 0.0) for k in range(n_labels)]
            for k in range(n_labels):
                model.bias[k] -= rate * grads[k]
            for name, value in feats.items():
                w = model.weights.get(name)
                if w is None:
                    w = model.weights[name] = [0.0] * n_labels
                for k in range(n_labels):
                    w[k] -= rate * (grads[k] * value + L2 * w[k])
    return model


@dataclass(frozen=True)
class Verdict:
    """How a trained model compared with the rules on held-back examples."""

    field: str
    held_back: int
    model_accuracy: float
    rules_accuracy: float
    use_model: bool
    model: LinearModel | None = None

    def describe(self) -> str:
        choice = "modelo" if self.use_model else "reglas"
        return (f"{self.field}: {self.held_back} ejemplos reservados, modelo "
                f"{self.model_accuracy:.0%} vs reglas {self.rules_accuracy:.0%} -> {choice}")


def choose(field_name: str, examples: Sequence[tuple[Normalised, str]],
           rules: Callable[[Normalised], str], labels: Sequence[str],
           must_keep: str | None = None) -> Verdict:
    """Train on all but every ``HOLD_BACK_EVERY``-th example and keep the model only if
    it beats the rules on the held-back ones (and finds every ``must_keep`` label the
    rules found there: Alta is never traded for accuracy elsewhere)."""
    train_part = [e for i, e in enumerate(examples) if i % HOLD_BACK_EVERY != HOLD_BACK_EVERY - 1]
    held = [e for i, e in enumerate(examples) if i % HOLD_BACK_EVERY == HOLD_BACK_EVERY - 1]
    if len(held) < MIN_HELD_BACK or len({label for _, label in train_part}) < 2:
        return Verdict(field_name, len(held), 0.0, 0.0, False)
    model = train(train_part, labels)
    model_hits = rules_hits = model_keep = rules_keep = 0
    for norm, gold in held:
        guess, _, _ = model.predict(norm)
        by_rules = rules(norm)
        model_hits += guess == gold
        rules_hits += by_rules == gold
        if must_keep is not None and gold == must_keep:
            model_keep += guess == must_keep
            rules_keep += by_rules == must_keep
    model_acc, rules_acc = model_hits / len(held), rules_hits / len(held)
    use = model_acc > rules_acc and model_keep >= rules_keep
    return Verdict(field_name, len(held), model_acc, rules_acc, use, model if use else None)
