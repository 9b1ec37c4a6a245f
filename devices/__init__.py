"""Device drivers and protocol-faithful simulators. Free of Kivy and of the kiosk core."""
