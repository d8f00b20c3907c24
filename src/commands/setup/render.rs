//! The files `setup` writes besides the env file, made from the ones under
//! `deploy/` so that a packaged install and a set-up one are the same.

/// Every systemd unit, by file name, as `deploy/systemd` has it.
pub const UNITS: [(&str, &str); 8] = [
    ("novij-telegram.target", include_str!("../../../deploy/systemd/novij-telegram.target")),
    ("novij-telegram-nats.service", include_str!("../../../deploy/systemd/novij-telegram-nats.service")),
    ("novij-telegram-migrate.service", include_str!("../../../deploy/systemd/novij-telegram-migrate.service")),
    ("novij-telegram-ingress.service", include_str!("../../../deploy/systemd/novij-telegram-ingress.service")),
    ("novij-telegram-dispatcher.service", include_str!("../../../deploy/systemd/novij-telegram-dispatcher.service")),
    ("novij-telegram-connect.service", include_str!("../../../deploy/systemd/novij-telegram-connect.service")),
    (
        "novij-telegram-payment-verifier.service",
        include_str!("../../../deploy/systemd/novij-telegram-payment-verifier.service"),
    ),
    ("novij-telegram-scheduler.service", include_str!("../../../deploy/systemd/novij-telegram-scheduler.service")),
];

/// Where the units of `deploy/systemd` expect the two programs.
const PACKAGED_BIN: &str = "/usr/bin/novij-telegram";
const PACKAGED_NATS: &str = "/usr/local/bin/nats-server";

/// A unit with the programs where this machine has them.
pub fn unit(text: &str, bin: &str, nats_server: &str) -> String {
    text.replace(PACKAGED_BIN, bin).replace(PACKAGED_NATS, nats_server)
}

/// The NATS server of a one-machine install: loopback only, so no TLS
/// (nothing leaves the host), and a user per service. The package ships the
/// same file.
pub const NATS_CONFIG: &str = include_str!("../../../deploy/nats/single-host.conf");

/// The reverse proxy in front of the ingress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proxy {
    /// Caddy, which obtains and renews the certificate itself.
    Caddy,
    /// nginx, with a certificate from certbot.
    Nginx,
}

/// Caddy's site: automatic TLS when `tls`, plain HTTP otherwise.
pub fn caddy_site(domain: &str, tls: bool, upstream: &str) -> String {
    let address = if tls { domain.to_string() } else { format!("http://{domain}") };
    format!(
        "# novij-telegram, written by `novij-telegram setup`.\n\
         {address} {{\n\
         \trequest_body {{\n\t\tmax_size 1MB\n\t}}\n\
         {hsts}\
         \t# Prometheus scrapes the ingress directly, not through the public proxy.\n\
         \trespond /metrics 404\n\
         \treverse_proxy {upstream}\n\
         }}\n",
        hsts = if tls { "\theader Strict-Transport-Security \"max-age=31536000\"\n" } else { "" },
    )
}

/// nginx's site: HTTPS with certbot's certificate when `tls`.
pub fn nginx_site(domain: &str, tls: bool, upstream: &str) -> String {
    let location = format!(
        "    client_max_body_size 1m;\n\
         \x20   # Prometheus scrapes the ingress directly, not through the public proxy.\n\
         \x20   location = /metrics {{ return 404; }}\n\
         \x20   location / {{\n\
         \x20       proxy_pass http://{upstream};\n\
         \x20       proxy_http_version 1.1;\n\
         \x20       proxy_set_header Host $host;\n\
         \x20       proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20       proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20       proxy_connect_timeout 5s;\n\
         \x20       proxy_read_timeout 60s;\n\
         \x20   }}\n"
    );
    let header = "# novij-telegram, written by `novij-telegram setup`.\n";
    if !tls {
        return format!(
            "{header}server {{\n    listen 80;\n    listen [::]:80;\n    server_name {domain};\n{location}}}\n"
        );
    }
    format!(
        "{header}server {{\n    listen 80;\n    listen [::]:80;\n    server_name {domain};\n\
         \x20   location /.well-known/acme-challenge/ {{ root /var/www/html; }}\n\
         \x20   location / {{ return 301 https://$host$request_uri; }}\n}}\n\n\
         server {{\n    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    server_name {domain};\n\
         \x20   ssl_certificate     /etc/letsencrypt/live/{domain}/fullchain.pem;\n\
         \x20   ssl_certificate_key /etc/letsencrypt/live/{domain}/privkey.pem;\n\
         \x20   ssl_protocols TLSv1.2 TLSv1.3;\n\
         \x20   add_header Strict-Transport-Security \"max-age=31536000\" always;\n\
         {location}}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_names_the_programs_given() {
        for (name, text) in UNITS {
            let text = unit(text, "/opt/nt/bin/novij-telegram", "/opt/nats/nats-server");
            assert!(!text.contains(PACKAGED_BIN) && !text.contains(PACKAGED_NATS), "{name}");
            if name.ends_with(".service") {
                assert!(text.contains("ExecStart=/opt/"), "{name}");
            }
        }
    }

    #[test]
    fn both_proxies_forward_to_the_upstream_and_hide_metrics() {
        for site in
            [caddy_site("tg.example.org", true, "127.0.0.1:9000"), nginx_site("tg.example.org", true, "127.0.0.1:9000")]
        {
            assert!(site.contains("127.0.0.1:9000") && site.contains("/metrics"), "{site}");
        }
        assert!(caddy_site("tg.example.org", false, "x").contains("http://tg.example.org {"));
        assert!(!nginx_site("tg.example.org", false, "x").contains("ssl"));
    }
}
