// The views of anywidget widgets in a page without a kernel (the static book).
//
// The widget manager of a static page (@jupyter-widgets/html-manager) asks RequireJS for a
// widget's module by name; the book maps the name "anywidget" to this file instead of a CDN.
// A widget of anywidget carries its own front end as an ES module in its state (`_esm`) and
// its style sheet (`_css`): this module imports the one and adds the other, then hands the
// widget's `initialize` and `render` a model with anywidget's interface. Nothing is sent
// anywhere: the page has no kernel, so saving changes and messages are dropped.
define(["@jupyter-widgets/base"], function (base) {
  "use strict";

  const modules = new Map();

  // The ES module in `source`, imported once per distinct source.
  function importSource(source) {
    if (!modules.has(source)) {
      const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      modules.set(source, import(url).finally(() => URL.revokeObjectURL(url)));
    }
    return modules.get(source);
  }

  function addStyle(css) {
    if (!css || document.querySelector(`style[data-anywidget-css="${CSS.escape(css.slice(0, 64))}"]`)) {
      return;
    }
    const style = document.createElement("style");
    style.dataset.anywidgetCss = css.slice(0, 64);
    style.textContent = css;
    document.head.append(style);
  }

  // What anywidget passes to a widget as `model`, over a Backbone model of the page.
  function facade(model) {
    return {
      get: (name) => model.get(name),
      set: (name, value) => model.set(name, value),
      on: (event, callback) => model.on(event, callback),
      off: (event, callback) => model.off(event, callback),
      save_changes() {},
      send() {},
      widget_manager: model.widget_manager,
    };
  }

  async function widgetOf(model) {
    const module = await importSource(String(model.get("_esm") || ""));
    const widget = module.default || module;
    return typeof widget === "function" ? await widget() : widget;
  }

  class AnyModel extends base.DOMWidgetModel {
    initialize(attributes, options) {
      super.initialize(attributes, options);
      addStyle(String(this.get("_css") || ""));
      this.widget = widgetOf(this).then(async (widget) => {
        if (widget.initialize) await widget.initialize({ model: facade(this) });
        return widget;
      });
    }
  }

  class AnyView extends base.DOMWidgetView {
    async render() {
      const widget = await this.model.widget;
      if (widget.render) await widget.render({ model: facade(this.model), el: this.el });
    }
  }

  return { AnyModel, AnyView };
});
