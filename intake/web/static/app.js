// Keyboard navigation of the triage list: j / k move between rows, Enter opens one.
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
  const rows = [...document.querySelectorAll("[data-row]")];
  if (!rows.length || !["j", "k"].includes(event.key)) return;
  const at = rows.indexOf(document.activeElement);
  const next = event.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
  rows[next].focus();
  event.preventDefault();
});
