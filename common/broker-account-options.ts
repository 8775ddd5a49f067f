import { opt } from './options.js';

/**
 * The broker account and TLS options, the same for both programs (agent and viewer tables spread them in).
 * Secrets are never flags; TLS files are checked at start by the connection.
 */
export const brokerAccountOptions = {
  username: opt.optionalString({ description: 'Broker user name.', arg: 'NAME' }),
  password: opt.optionalString({ description: 'Broker password (environment or config file only; prefer passwordFile).', secret: true }),
  passwordFile: opt.optionalString({ description: 'File whose first line is the broker password.', arg: 'FILE' }),
  caFile: opt.optionalString({ description: 'TLS: CA certificate file (PEM) that signed the broker\'s certificate, for mqtts:// or wss://. The broker\'s certificate and host name are always verified.', arg: 'FILE' }),
  certFile: opt.optionalString({ description: 'TLS: client certificate file (PEM), for brokers that require one (needs keyFile).', arg: 'FILE' }),
  keyFile: opt.optionalString({ description: 'TLS: private key file (PEM, unencrypted) of certFile.', arg: 'FILE' }),
};
