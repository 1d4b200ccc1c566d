// Herald's GraphiQL page: GraphiQL pointed at the path this page was served from, with
// the API token kept in localStorage and sent as X-API-Key on every request. Changing
// the token mounts GraphiQL afresh, so the schema is fetched again with the new token.
(function () {
  "use strict";
  var KEY = "herald.apiToken";
  var endpoint = window.location.pathname;
  var form = document.getElementById("herald-token-form");
  var input = document.getElementById("herald-token");
  var state = document.getElementById("herald-token-state");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var generation = 0;

  function stored() {
    try {
      return window.localStorage.getItem(KEY) || "";
    } catch (e) {
      return "";
    }
  }

  function render() {
    var token = stored();
    state.textContent = token ? "token set" : "no token: requests will be refused (401)";
    var headers = token ? { "X-API-Key": token } : {};
    generation += 1;
    root.render(
      React.createElement(GraphiQL, {
        key: generation,
        fetcher: GraphiQL.createFetcher({ url: endpoint, headers: headers }),
        defaultEditorToolsVisibility: true,
      })
    );
  }

  input.value = stored();
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    try {
      var token = input.value.trim();
      if (token) {
        window.localStorage.setItem(KEY, token);
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (e) {
      state.textContent = "localStorage unavailable: " + e;
    }
    render();
  });
  render();
})();
