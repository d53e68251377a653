// The whole public API of the zero-copy publish/subscribe library.
#pragma once

#include "zerocopy/config.hpp"
#include "zerocopy/discovery.hpp"
#include "zerocopy/error.hpp"
#include "zerocopy/event.hpp"
#include "zerocopy/expected.hpp"
#include "zerocopy/node.hpp"
#include "zerocopy/publisher.hpp"
#include "zerocopy/request_response.hpp"
#include "zerocopy/service.hpp"
#include "zerocopy/subscriber.hpp"
#include "zerocopy/type_name.hpp"
#include "zerocopy/version.hpp"
#include "zerocopy/waitset.hpp"
