// Number formatting shared by controls, readouts and hover text.

/** Round to `digits` significant digits, returning a number (0.050118 -> 0.0501). */
export function roundSig(value, digits = 3) {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** A short human string: 4 significant digits, exponent form for very small or large. */
export function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e-3 && abs < 1e5) return String(Number(value.toPrecision(digits)));
  const [mantissa, exponent] = value.toExponential(digits - 1).split("e");
  return `${String(Number(mantissa))}e${Number(exponent)}`;
}

/** The exact value as typed into a number box: the shortest string that round-trips. */
export function exact(value) {
  return value === null || value === undefined ? "" : String(value);
}

export function norm2(vector) {
  return Math.hypot(vector[0], vector[1]);
}
