// Herald's GraphiQL page: GraphiQL pointed at the path this page was served from, with
// the API token kept in localStorage and sent as X-API-Key on every request (and in
// connection_init for subscriptions, which run over a WebSocket to the same path). Changing
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

  // Whether the operation GraphiQL runs is a subscription (comments and strings are
  // not parsed: good enough to pick the transport; the server checks the rest).
  function isSubscription(params) {
    var query = (params.query || "").replace(/#[^\n]*/g, "");
    var name = params.operationName;
    if (name) {
      return new RegExp("\\bsubscription\\s+" + name + "\\b").test(query);
    }
    return /^\s*subscription\b/.test(query);
  }

  // Subscriptions over WebSocket (graphql-transport-ws) on this same path, the token
  // sent in connection_init: an observable GraphiQL shows result by result.
  function subscribe(params, token) {
    return {
      subscribe: function (observer) {
        var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
        var ws = new WebSocket(scheme + "//" + window.location.host + endpoint, "graphql-transport-ws");
        var done = false;
        function finish() {
          if (!done) {
            done = true;
            observer.complete();
          }
        }
        ws.onopen = function () {
          ws.send(JSON.stringify({ type: "connection_init", payload: token ? { "x-api-key": token } : {} }));
        };
        ws.onmessage = function (event) {
          var msg = JSON.parse(event.data);
          if (msg.type === "connection_ack") {
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: params }));
          } else if (msg.type === "next") {
            observer.next(msg.payload);
          } else if (msg.type === "error") {
            observer.next({ errors: msg.payload });
          } else if (msg.type === "complete") {
            finish();
            ws.close(1000);
          } else if (msg.type === "ping") {
            ws.send(JSON.stringify({ type: "pong" }));
          }
        };
        ws.onclose = function (event) {
          if (!done && event.code !== 1000) {
            observer.next({ errors: [{ message: "connection closed (" + event.code + "): " + (event.reason || "no reason given") }] });
          }
          finish();
        };
        return {
          unsubscribe: function () {
            done = true;
            if (ws.readyState === WebSocket.OPEN) {
              ws.send(JSON.stringify({ id: "1", type: "complete" }));
            }
            ws.close(1000);
          },
        };
      },
    };
  }

  function render() {
    var token = stored();
    state.textContent = token ? "token set" : "no token: requests will be refused (401)";
    var headers = token ? { "X-API-Key": token } : {};
    var http = GraphiQL.createFetcher({ url: endpoint, headers: headers });
    generation += 1;
    root.render(
      React.createElement(GraphiQL, {
        key: generation,
        fetcher: function (params, options) {
          return isSubscription(params) ? subscribe(params, token) : http(params, options);
        },
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
