// Package forecast predicts a regular series a few steps ahead: seasonal
// naive, Holt-Winters and harmonic regression, chosen by a rolling-origin
// backtest, with prediction intervals from the backtest's own errors.
// It is pure arithmetic: no I/O, no clock, no logging.
package forecast
