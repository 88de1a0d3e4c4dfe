//! Fieldbook's tablet app. This first cut only proves the yew/WASM build and the
//! server's static hosting; the offline client is its own piece of work.

use yew::prelude::*;

#[function_component(App)]
fn app() -> Html {
    html! {
        <main class="shell">
            <h1>{ "Fieldbook 大客户经理工作台" }</h1>
            <p>{ "客户端正在建设中。/ The tablet client is under construction." }</p>
        </main>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
