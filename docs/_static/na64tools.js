// na64tools documentation: a table cell that holds a number or a range of numbers
// (0.038, 1.98 × 10¹⁰, 3.5–5.8e-4, 1.76-2.05) is never broken over lines on a narrow screen;
// the table scrolls sideways inside its own box instead (docs/_static/na64tools.css).
document.addEventListener("DOMContentLoaded", () => {
  const number = /^[−+-]?[0-9][0-9.,]*([eE][−+-]?[0-9]+)?(\s*(×|x)\s*10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)?(\s*[–-]\s*[0-9.]+([eE][−+-]?[0-9]+)?)?\s*(%|GeV|MeV|cm|s|ms|GB|MB)?$/;
  for (const cell of document.querySelectorAll("article td, article th")) {
    const text = cell.textContent.trim();
    if (text.length > 0 && text.length <= 24 && number.test(text)) cell.classList.add("na64-number");
  }
});
