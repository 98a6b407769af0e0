// Starts the vendored rasa-webchat widget inside #webchat. Kept out of the page so the
// Content-Security-Policy can forbid inline scripts; settings come from a JSON block.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("webchat-config").textContent);
  window.WebChat.default(
    {
      // Same origin as the page: the Rasa server serves both.
      socketUrl: window.location.origin,
      socketPath: config.socketPath,
      initPayload: config.initPayload,
      embedded: true,
      showFullScreenButton: false,
      showCloseButton: false,  // always open, inside the page
      hideWhenNotConnected: false,
      inputTextFieldHint: "Tulis pertanyaan tentang artikel…",
      connectingText: "Menghubungkan…",
      // localStorage keeps the session id and the history, so a reload redraws the
      // conversation and Rasa continues the same tracker.
      params: { storage: "local" },
      // The default waits 0.8-3 s per message to mimic typing; answers are read, not chatted.
      customMessageDelay: function () { return 250; },
    },
    document.getElementById("webchat")
  );
})();
