// Register external number: list only the agents of the chosen workspace.
// The form works without this script; it only shortens the agent list.
"use strict";
(function () {
  function filterAgents() {
    const workspace = document.getElementById("id_workspace");
    const agent = document.getElementById("id_agent");
    if (!workspace || !agent) {
      return;
    }
    const chosen = workspace.value;
    for (const option of agent.querySelectorAll("option[data-workspace]")) {
      const visible = !chosen || option.dataset.workspace === chosen;
      option.hidden = !visible;
      option.disabled = !visible;
      if (!visible && option.selected) {
        agent.value = "";
      }
    }
    for (const group of agent.querySelectorAll("optgroup")) {
      group.hidden = !group.querySelector("option:not([hidden])");
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    const workspace = document.getElementById("id_workspace");
    if (workspace) {
      workspace.addEventListener("change", filterAgents);
      filterAgents();
    }
  });
})();
